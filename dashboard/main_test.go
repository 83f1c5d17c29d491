package dashboard

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: event
// streams, pumps, test servers and the browser must all be gone.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
