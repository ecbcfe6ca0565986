package backport

// GZ lets the external image tests build changelogs with the unit tests'
// helper.
var GZ = gz
