// Package ui is the node's operator page: one HTML file, embedded in the
// binary, with its script and styles inline (no build step, no CDN), that
// polls the node's GET /api/status once a second and renders peers, the
// mesh's nodes, channels, agents, receipts, ratings and drop counters.
//
// It sits beside the data path, not on it: the page only reads what the
// assembled node (testnet today) serves as JSON. It imports nothing of
// ours, so the page can be served by any HTTP mux.
package ui
