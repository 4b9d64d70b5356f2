package redirect

// QuickPathForTest exposes quickPath to the fuzz test.
var QuickPathForTest = quickPath

// RequestPathForTest exposes requestPath to the fuzz test.
var RequestPathForTest = requestPath
