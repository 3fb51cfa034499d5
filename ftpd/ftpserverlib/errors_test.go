package ftpserver

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCustomErrorsCode(t *testing.T) {
	code := getErrorCode(ErrStorageExceeded, StatusActionNotTaken)
	assert.Equal(t, StatusActionAborted, code)
	code = getErrorCode(ErrFileNameNotAllowed, StatusActionNotTaken)
	assert.Equal(t, StatusActionNotTakenNoFile, code)
	code = getErrorCode(os.ErrPermission, StatusActionNotTaken)
	assert.Equal(t, StatusActionNotTaken, code)
	code = getErrorCode(os.ErrClosed, StatusNotLoggedIn)
	assert.Equal(t, StatusNotLoggedIn, code)
}

func TestTransferCloseStorageExceeded(t *testing.T) {
	buf := bytes.Buffer{}
	h := clientHandler{writer: bufio.NewWriter(&buf)}
	h.TransferClose(nil, ErrStorageExceeded)
	require.Equal(t, "552 Issue during transfer: storage limit exceeded\r\n", buf.String())
}

func TestErrorTypes(t *testing.T) {
	// a := assert.New(t)
	t.Run("DriverError", func(t *testing.T) {
		req := require.New(t)
		var err error = newDriverError("test", os.ErrPermission)
		req.Equal("driver error: test: permission denied", err.Error())
		req.ErrorIs(err, os.ErrPermission)

		var specificError DriverError
		req.ErrorAs(err, &specificError)
		req.Equal("test", specificError.str)
	})

	t.Run("NetworkError", func(t *testing.T) {
		req := require.New(t)
		var err error = newNetworkError("test", os.ErrPermission)
		req.Equal("network error: test: permission denied", err.Error())
		req.ErrorIs(err, os.ErrPermission)

		var specificError NetworkError
		req.ErrorAs(err, &specificError)
		req.Equal("test", specificError.str)
	})

	t.Run("FileAccessError", func(t *testing.T) {
		req := require.New(t)
		var err error = newFileAccessError("test", os.ErrPermission)
		req.Equal("file access error: test: permission denied", err.Error())
		req.ErrorIs(err, os.ErrPermission)
		var specificError FileAccessError
		req.ErrorAs(err, &specificError)
		req.Equal("test", specificError.str)
	})
}

type testReplyError struct {
	code int
	msg  string
}

func (e *testReplyError) Error() string        { return "test reply error" }
func (e *testReplyError) ReplyCode() int       { return e.code }
func (e *testReplyError) ReplyMessage() string { return e.msg }

func TestTransferCloseReplyError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"bare", &testReplyError{451, "x.csv not imported, try again later"}, "451 x.csv not imported, try again later\r\n"},
		{"wrapped in a network error", newNetworkError("error transferring data", &testReplyError{452, "disk full"}), "452 disk full\r\n"},
		{"wrapping a sentinel", fmt.Errorf("%w: %w", &testReplyError{552, "too large"}, ErrStorageExceeded), "552 too large\r\n"},
		{"without one", newNetworkError("error transferring data", os.ErrPermission), "550 Issue during transfer: network error: error transferring data: permission denied\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := bytes.Buffer{}
			h := clientHandler{writer: bufio.NewWriter(&buf)}
			h.TransferClose(nil, tc.err)
			require.Equal(t, tc.want, buf.String())
		})
	}
}

func TestIsReplyError(t *testing.T) {
	require.True(t, isReplyError(fmt.Errorf("wrapped: %w", &testReplyError{426, "aborted"})))
	require.False(t, isReplyError(ErrStorageExceeded))
	require.False(t, isReplyError(nil))
}
