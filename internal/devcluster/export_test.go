package devcluster

// KwokConfigForTest exposes the generated KWOK configuration to tests.
func KwokConfigForTest() string { return kwokConfig() }
