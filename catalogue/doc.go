// Package catalogue keeps the system of record of what is for sale
// (issue 11): projects (楼盘), their buildings (楼栋) and units (房源),
// created and described through the API instead of the demo seed alone.
//
// An admin sets a project up; a manager keeps the catalogue of their own
// projects (updates the project, creates and updates its buildings, enters
// and describes its units). Who may do what is decided by the privacy rules
// of package rule, on every path; the functions here validate the input,
// naming the field at fault (BAD_USER_INPUT), and write inside the caller's
// transaction, so that a refused request changes nothing.
//
// Prices after creation, publishing and withdrawing units are the sales
// office's (price.go, publish.go), not the description kept here.
package catalogue
