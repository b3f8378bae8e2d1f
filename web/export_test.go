package web

// ServerZoneName is serverZoneName, for the tests of package web_test.
var ServerZoneName = serverZoneName

// RedactURI is redactURI, for the tests of package web_test.
var RedactURI = redactURI
