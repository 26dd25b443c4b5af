// Command client calls a JSON-RPC server with Go's net/rpc/jsonrpc client, first over a plain
// TCP connection and then over a connection opened with `CONNECT /_goRPC_ HTTP/1.0`. It prints
// one line per step and exits with status 1 on the first unexpected outcome.
//
// With -errors it only calls methods the server cannot route and prints the text of each
// rpc.ServerError, one line per call, then checks that the connection still serves Arith.Multiply:
// the lines are the same against a Go net/rpc server and against one that words its errors as Go's.
//
// Usage: client [-errors] host:port
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"time"
)

// Args is the input of Arith's methods; the server sees its fields as "A" and "B".
type Args struct {
	A, B int
}

const concurrentCalls = 20

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", a...)
	os.Exit(1)
}

// dial opens a TCP connection that gives up after a while, so a silent server cannot hang us.
func dial(addr string) net.Conn {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		fail("dial %s: %v", addr, err)
	}
	if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
		fail("set deadline: %v", err)
	}
	return conn
}

// serverError checks that err is an error the server sent back (not a broken connection) and
// returns its text.
func serverError(step string, err error) string {
	if err == nil {
		fail("%s: expected an error, the call succeeded", step)
	}
	var se rpc.ServerError
	if !errors.As(err, &se) {
		fail("%s: expected an rpc.ServerError, got %T: %v", step, err, err)
	}
	return string(se)
}

func multiply(step string, client *rpc.Client, a, b int) {
	var product int
	if err := client.Call("Arith.Multiply", Args{a, b}, &product); err != nil {
		fail("%s: %v", step, err)
	}
	if product != a*b {
		fail("%s: %d * %d gave %d", step, a, b, product)
	}
	fmt.Printf("%s %d\n", step, product)
}

func divideByZero(step string, client *rpc.Client) {
	var quotient float64
	err := client.Call("Arith.Divide", Args{1, 0}, &quotient)
	text := serverError(step, err)
	if text != "divide by zero" {
		fail("%s: error text %q", step, text)
	}
	fmt.Printf("%s error: %s\n", step, text)
}

// concurrentAdds starts every call before waiting for any, so they are all outstanding at once
// on the one connection, then checks each reply against its own arguments.
func concurrentAdds(step string, client *rpc.Client) {
	done := make(chan *rpc.Call, concurrentCalls)
	sums := make([]int, concurrentCalls)
	calls := make([]*rpc.Call, concurrentCalls)
	for i := range calls {
		calls[i] = client.Go("Arith.Add", Args{i, 1000 * i}, &sums[i], done)
	}
	for range calls {
		select {
		case call := <-done:
			if call.Error != nil {
				fail("%s: %v", step, call.Error)
			}
		case <-time.After(10 * time.Second):
			fail("%s: replies did not arrive in time", step)
		}
	}
	for i, sum := range sums {
		if sum != 1001*i {
			fail("%s: call %d: %d + %d gave %d", step, i, i, 1000*i, sum)
		}
	}
	fmt.Printf("%s %d/%d\n", step, len(calls), concurrentCalls)
}

// bufferedConn reads through the reader that parsed the HTTP response, so bytes it buffered past
// the response are not lost, and writes straight to the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func plain(addr string) {
	client := jsonrpc.NewClient(dial(addr))
	defer client.Close()

	multiply("multiply", client, 7, 8)
	concurrentAdds("add-concurrent", client)

	var quotient float64
	if err := client.Call("Arith.Divide", Args{17, 8}, &quotient); err != nil {
		fail("divide: %v", err)
	}
	if quotient != 2.125 {
		fail("divide: 17 / 8 gave %v", quotient)
	}
	fmt.Printf("divide %v\n", quotient)

	divideByZero("divide-by-zero", client)

	var ignored int
	text := serverError("unknown-method", client.Call("Arith.NoSuchMethod", Args{1, 2}, &ignored))
	if text == "" {
		fail("unknown-method: empty error text")
	}
	fmt.Printf("unknown-method error: %s\n", text)

	// The errors above must not have broken the connection.
	multiply("multiply-after-errors", client, 5, 6)
}

func overHTTP(addr string) {
	conn := dial(addr)
	if _, err := io.WriteString(conn, "CONNECT /_goRPC_ HTTP/1.0\n\n"); err != nil {
		fail("http-connect: write: %v", err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, &http.Request{Method: "CONNECT"})
	if err != nil {
		fail("http-connect: reading the response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		fail("http-connect: status %q", resp.Status)
	}
	fmt.Printf("http-connect %s\n", resp.Status)

	client := jsonrpc.NewClient(&bufferedConn{Conn: conn, r: r})
	defer client.Close()
	multiply("http-multiply", client, 6, 7)
	concurrentAdds("http-add-concurrent", client)
	divideByZero("http-divide-by-zero", client)
}

// unroutable calls names Go's server cannot route: an unknown method, an unknown service, and a
// name without a dot.
func unroutable(addr string) {
	client := jsonrpc.NewClient(dial(addr))
	defer client.Close()
	for _, call := range []struct{ step, name string }{
		{"unknown-method", "Arith.NoSuchMethod"},
		{"unknown-service", "NoSuchService.Add"},
		{"ill-formed", "NoDot"},
	} {
		var ignored int
		fmt.Printf("%s error: %s\n", call.step, serverError(call.step, client.Call(call.name, Args{1, 2}, &ignored)))
	}
	multiply("multiply-after-errors", client, 5, 6)
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-errors" {
		unroutable(os.Args[2])
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: client [-errors] host:port")
		os.Exit(2)
	}
	addr := os.Args[1]
	plain(addr)
	overHTTP(addr)
	fmt.Println("done")
}
