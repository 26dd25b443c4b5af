// Command tlsclient calls a JSON-RPC server over TLS with Go's crypto/tls and net/rpc/jsonrpc
// client: first on a TLS connection carrying the JSON stream directly, then on one opened with
// `CONNECT /_goRPC_ HTTP/1.0` inside TLS. The server's certificate must chain to the CA file and
// carry the name dialled (or -servername); -cert and -key present a client certificate (mTLS).
// It prints one line per step and exits with status 1 on the first unexpected outcome.
//
// Usage: tlsclient -ca ca.pem [-cert client.pem -key client-key.pem] [-servername name] host:port
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
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

// Whoami is what the test's Tls.whoami answers; Go matches the JSON keys without regard to case.
type Whoami struct {
	CommonName string
	Authorized bool
	Protocol   string
	Alpn       string
}

const concurrentCalls = 20

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", a...)
	os.Exit(1)
}

var tlsVersions = map[uint16]string{
	tls.VersionTLS10: "TLSv1",
	tls.VersionTLS11: "TLSv1.1",
	tls.VersionTLS12: "TLSv1.2",
	tls.VersionTLS13: "TLSv1.3",
}

// config trusts only the CA file and, given -cert and -key, presents that certificate.
func config(caFile, certFile, keyFile, serverName string, alpn []string) *tls.Config {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		fail("reading the CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail("no certificate in %s", caFile)
	}
	c := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12, NextProtos: alpn}
	if certFile != "" || keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			fail("loading the client certificate: %v", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c
}

// dial completes a TLS handshake in time and gives the connection a deadline, so a silent server
// cannot hang us.
func dial(step, addr string, c *tls.Config) *tls.Conn {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, c)
	if err != nil {
		fail("%s: dial %s: %v", step, addr, err)
	}
	if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
		fail("%s: set deadline: %v", step, err)
	}
	state := conn.ConnectionState()
	alpn := state.NegotiatedProtocol
	if alpn == "" {
		alpn = "-"
	}
	fmt.Printf("%s %s alpn=%s\n", step, tlsVersions[state.Version], alpn)
	return conn
}

func add(step string, client *rpc.Client, a, b int) {
	var sum int
	if err := client.Call("Arith.Add", Args{a, b}, &sum); err != nil {
		fail("%s: %v", step, err)
	}
	if sum != a+b {
		fail("%s: %d + %d gave %d", step, a, b, sum)
	}
	fmt.Printf("%s %d\n", step, sum)
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
	if err == nil {
		fail("%s: expected an error, the call succeeded", step)
	}
	var se rpc.ServerError
	if !errors.As(err, &se) {
		fail("%s: expected an rpc.ServerError, got %T: %v", step, err, err)
	}
	fmt.Printf("%s error: %s\n", step, string(se))
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

func whoami(step string, client *rpc.Client) {
	var who Whoami
	if err := client.Call("Tls.Whoami", struct{}{}, &who); err != nil {
		fail("%s: %v", step, err)
	}
	cn := who.CommonName
	if cn == "" {
		cn = "-"
	}
	alpn := who.Alpn
	if alpn == "" {
		alpn = "-"
	}
	fmt.Printf("%s cn=%s authorized=%t protocol=%s alpn=%s\n", step, cn, who.Authorized, who.Protocol, alpn)
}

// bufferedConn reads through the reader that parsed the HTTP response, so bytes it buffered past
// the response are not lost, and writes straight to the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func stream(addr string, c *tls.Config) {
	client := jsonrpc.NewClient(dial("tls", addr, c))
	defer client.Close()
	add("add", client, 10, 50)
	multiply("multiply", client, 7, 8)
	concurrentAdds("add-concurrent", client)
	divideByZero("divide-by-zero", client)
	multiply("multiply-after-error", client, 5, 6)
	whoami("whoami", client)
}

func overHTTP(addr string, c *tls.Config) {
	conn := dial("http-tls", addr, c)
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
	whoami("http-whoami", client)
}

func main() {
	caFile := flag.String("ca", "", "the CA file (PEM) the server's certificate must chain to")
	certFile := flag.String("cert", "", "a client certificate (PEM) for mTLS")
	keyFile := flag.String("key", "", "its private key (PEM)")
	serverName := flag.String("servername", "", "the name the server's certificate must carry (default: the host dialled)")
	flag.Parse()
	if *caFile == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tlsclient -ca ca.pem [-cert client.pem -key client-key.pem] [-servername name] host:port")
		os.Exit(2)
	}
	addr := flag.Arg(0)
	// The JSON stream offers the server's "jsonrpc" ALPN name; the CONNECT handshake offers none.
	stream(addr, config(*caFile, *certFile, *keyFile, *serverName, []string{"jsonrpc"}))
	overHTTP(addr, config(*caFile, *certFile, *keyFile, *serverName, nil))
	fmt.Println("done")
}
