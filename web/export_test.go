package web

// ServerZoneName is serverZoneName, for the tests of package web_test.
var ServerZoneName = serverZoneName
