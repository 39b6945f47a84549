package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// chart draws server CPU per operation against dataset size, both on log
// scales, one line per workload and server.
func (r *report) chart() string {
	const width, height, left, right, top, bottom = 760, 440, 80, 230, 30, 60
	type series struct {
		label, colour string
		dashed        bool
		points        [][2]float64
	}
	colours := map[string]string{wGet: "#1f77b4", wList: "#d62728", wRecord: "#2ca02c"}
	var all []series
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, workload := range []string{wGet, wList, wRecord} {
		for _, server := range []string{"routeguide", "reference"} {
			s := series{label: workload + ", " + server, colour: colours[workload], dashed: server == "reference"}
			for _, n := range r.options.sizes {
				t := r.samples[sweepTable(workload, n)]
				if t == nil || t[server] == nil {
					continue
				}
				cost := float64(median(t[server]).cpuPerOp) / float64(time.Microsecond)
				if cost <= 0 {
					continue
				}
				s.points = append(s.points, [2]float64{float64(n), cost})
				minY, maxY = min(minY, cost), max(maxY, cost)
			}
			all = append(all, s)
		}
	}
	if math.IsInf(minY, 0) {
		minY, maxY = 1, 10
	}
	lo, hi := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	if hi == lo {
		hi++
	}
	minX, maxX := math.Log10(float64(r.options.sizes[0])), math.Log10(float64(r.options.sizes[len(r.options.sizes)-1]))
	if maxX == minX {
		maxX++
	}
	px := func(n float64) float64 { return left + (math.Log10(n)-minX)/(maxX-minX)*(width-left-right) }
	py := func(v float64) float64 { return height - bottom - (math.Log10(v)-lo)/(hi-lo)*(height-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">Server CPU per operation against dataset size (log–log; dashed: grpc-go reference)</text>`+"\n", left)
	for e := lo; e <= hi; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, width-right, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, dur(time.Duration(math.Pow(10, e)*float64(time.Microsecond))))
	}
	for _, n := range r.options.sizes {
		x := px(float64(n))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>`+"\n", x, x, top, height-bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x, height-bottom+18, n)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">features in the dataset</text>`+"\n", (left+width-right)/2, height-bottom+40)
	for i, s := range all {
		var path []string
		for _, p := range s.points {
			path = append(path, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p[0]), py(p[1]), s.colour)
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6,4"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(path, " "), s.colour, dash)
		y := top + 20 + i*20
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", width-right+10, width-right+40, y, y, s.colour, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", width-right+46, y+4, strings.Replace(s.label, " (~100-feature rectangle)", "", 1))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
