package devidp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// A User is an account that can sign in at the identity provider.
type User struct {
	// Username is what the login form asks for; it is the tokens'
	// preferred_username. Required.
	Username string `json:"username"`
	// Password is compared as given: the provider is for development and
	// tests, and its users' passwords are not secrets. Required.
	Password string `json:"password"`
	// Name is the tokens' name claim. The default is Username.
	Name string `json:"name,omitempty"`
	// Subject is the tokens' sub claim, the user's stable ID. The default
	// is Username.
	Subject string `json:"subject,omitempty"`
	// Roles is the tokens' roles claim; RouteGuide's moderators have
	// "moderator". The default is none.
	Roles []string `json:"roles,omitempty"`
}

// DevUsers returns the built-in development users: alice ("Alice Liddell"),
// bob ("Bob Bobson") and mod ("Molly Moderator", the one moderator). Their
// passwords are the usernames followed by "-dev-password"; they are printed
// in the README and protect nothing.
func DevUsers() []User {
	return []User{
		{Username: "alice", Password: "alice-dev-password", Name: "Alice Liddell"},
		{Username: "bob", Password: "bob-dev-password", Name: "Bob Bobson"},
		{Username: "mod", Password: "mod-dev-password", Name: "Molly Moderator", Roles: []string{"moderator"}},
	}
}

// LoadUsers reads a JSON array of users, in the shape of [User], from the
// file at path.
func LoadUsers(path string) ([]User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	var users []User
	if err := json.Unmarshal(data, &users); err != nil {
		return nil, fmt.Errorf("read users from %s: %w", path, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("read users from %s: the file names no users", path)
	}
	return users, nil
}

// withDefaults returns u with its defaults filled in, or an error that says
// what is missing.
func (u User) withDefaults() (User, error) {
	if u.Username == "" {
		return u, errors.New("a user has no username")
	}
	if u.Password == "" {
		return u, fmt.Errorf("user %q has no password", u.Username)
	}
	if u.Name == "" {
		u.Name = u.Username
	}
	if u.Subject == "" {
		u.Subject = u.Username
	}
	if u.Roles == nil {
		u.Roles = []string{}
	}
	return u, nil
}
