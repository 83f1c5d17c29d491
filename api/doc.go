// Package api holds the JSON bodies of Nexus's HTTP API that the gateway,
// the CLI and the dashboard share: the model list, health, backend
// information, the add-backend request and the request history entry. Each
// fact has one shape here, so a field means the same thing (and is null or
// empty in the same way) wherever it appears.
//
// The package has no behaviour and imports nothing of Nexus: the gateway
// fills these values in, and clients decode them.
package api
