package node

// ClientFrame lets the external tests write raw client frames.
var ClientFrame = clientFrame
