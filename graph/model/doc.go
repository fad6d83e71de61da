// Package model holds GraphQL types that have no ent counterpart; gqlgen
// writes models_gen.go here.
package model
