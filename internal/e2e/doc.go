// Package e2e holds repository-wide tests: import layers, package docs.
package e2e
