package runner

// ParseTranscript exposes the transcript parser to the external tests.
var ParseTranscript = parseTranscript
