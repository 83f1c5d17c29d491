package registry_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		want    string // normalised URL when valid
		wantErr error
		msg     string // the whole error message
	}{
		{raw: "http://127.0.0.1:11434", want: "http://127.0.0.1:11434"},
		{raw: " https://gpu.example:8443/prefix/v1/ ", want: "https://gpu.example:8443/prefix"},
		{raw: "http://[::1]:8000/", want: "http://[::1]:8000"},
		{raw: "", wantErr: registry.ErrURLMissing, msg: "missing URL"},
		{raw: " \t", wantErr: registry.ErrURLMissing, msg: "missing URL"},
		{raw: "ftp://x", wantErr: registry.ErrURLScheme, msg: `invalid URL "ftp://x" (want http:// or https://)`},
		{raw: "http://", wantErr: registry.ErrURLScheme, msg: `invalid URL "http://" (want http:// or https://)`},
		{raw: "localhost:8000", wantErr: registry.ErrURLScheme, msg: `invalid URL "localhost:8000" (want http:// or https://)`},
		{raw: "http:opaque", wantErr: registry.ErrURLScheme, msg: `invalid URL "http:opaque" (want http:// or https://)`},
		{raw: "http://[::1", wantErr: registry.ErrURLScheme, msg: `invalid URL "http://[::1" (want http:// or https://)`},
		{raw: "127.0.0.1:8000", wantErr: registry.ErrURLScheme},
		{raw: "http://x/?a=1", wantErr: registry.ErrURLQuery, msg: `invalid URL "http://x/?a=1" (a base URL has no query or fragment)`},
		{raw: "http://x/?", wantErr: registry.ErrURLQuery},
		{raw: "http://x/#frag", wantErr: registry.ErrURLQuery},
		{raw: "http://me:s3cret@x:8000", wantErr: registry.ErrURLCredentials,
			msg: "credentials in the URL are not allowed (http://x:8000)"},
		{raw: "http://me:s3cret@x:8000/?a=1", wantErr: registry.ErrURLCredentials},
		{raw: "ftp://me:s3cret@x", wantErr: registry.ErrURLScheme, msg: `invalid URL "ftp://x" (want http:// or https://)`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			got, err := registry.CheckURL(tt.raw)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			assert.Empty(t, got)
			var ue *registry.URLError
			require.True(t, errors.As(err, &ue))
			assert.NotContains(t, err.Error(), "s3cret", "a password is never echoed")
			if tt.msg != "" {
				assert.Equal(t, tt.msg, err.Error())
			}
		})
	}
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:1", "https://u:p@h/x?y#z", "http://[::1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := registry.CheckURL(raw)
		if err != nil {
			if got != "" || err.Error() == "" {
				t.Fatalf("CheckURL(%q) = %q, %v", raw, got, err)
			}
			return
		}
		// A valid URL stays valid and unchanged once normalised.
		again, err := registry.CheckURL(got)
		if err != nil || again != got {
			t.Fatalf("CheckURL(%q) = %q, but CheckURL(%q) = %q, %v", raw, got, got, again, err)
		}
	})
}
