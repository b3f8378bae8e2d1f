package web

// ServerZoneName is serverZoneName, for the tests of package web_test.
var ServerZoneName = serverZoneName

// RedactURI is redactURI, for the tests of package web_test.
var RedactURI = redactURI

// JobActionNames are the names in the job action table, in its order; BulkJobActionNames those
// the jobs list offers for many jobs.
func JobActionNames() (all, bulk []string) {
	for _, a := range jobActions {
		all = append(all, a.name)
		if a.bulk {
			bulk = append(bulk, a.name)
		}
	}
	return all, bulk
}
