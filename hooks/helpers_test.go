package hooks_test

import (
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/internal/testsupport"
)

// The shared test support (internal/testsupport), under the names these
// tests use.
const (
	aliceID     = testsupport.AliceID
	bobID       = testsupport.BobID
	aliceGH     = testsupport.AliceGitHub
	bobGH       = testsupport.BobGitHub
	superuserID = testsupport.SuperuserID
	testSecret  = testsupport.TokenSecret
)

var (
	newTestApp     = testsupport.NewApp
	serve          = testsupport.Serve
	serveWith      = testsupport.ServeWith
	tokenFor       = testsupport.Token
	call           = testsupport.Call
	callWithHeader = testsupport.CallWithHeader
	linkGitHub     = testsupport.LinkGitHub
	newFakeGitHub  = testsupport.NewFakeGitHub
	countRows      = testsupport.CountRows
	testVector     = testsupport.Vector
	jsonString     = testsupport.JSON
	waitForLogs    = testsupport.WaitForLogs
	openDataDir    = testsupport.OpenDataDir // as a new process opens it (after FinishCompaction)
)

func newRecord(col *core.Collection, data map[string]any) *core.Record {
	r := core.NewRecord(col)
	r.Load(data)
	return r
}

func timeNow() time.Time { return time.Now() }
