// Command server serves an Arith receiver with Go's net/rpc over the JSON codec
// (net/rpc/jsonrpc) on a free loopback port. The first line it prints is the address it
// listens on (host:port). It exits with status 0 once its standard input is closed.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"sync"
)

// Args is the input of every Arith method.
type Args struct {
	A, B int
}

// Quotient is the result of Arith.Divide.
type Quotient struct {
	Quo, Rem int
}

// Description is the result of Arith.Describe: nested values and field names whose leading
// capitals are not a single letter.
type Description struct {
	ID       string
	Inputs   Args
	Quotient Quotient
	Steps    []Quotient
	URLPath  string
}

// Arith is the service; its exported methods are callable as "Arith.<Method>".
type Arith struct{}

// Multiply sets reply to A * B.
func (*Arith) Multiply(args *Args, reply *int) error {
	*reply = args.A * args.B
	return nil
}

// Add sets reply to A + B.
func (*Arith) Add(args Args, reply *int) error {
	*reply = args.A + args.B
	return nil
}

// Divide sets quo to the integer quotient and remainder of A / B.
func (*Arith) Divide(args *Args, quo *Quotient) error {
	if args.B == 0 {
		return errors.New("divide by zero")
	}
	quo.Quo = args.A / args.B
	quo.Rem = args.A % args.B
	return nil
}

// Describe sets d to a description of A / B.
func (t *Arith) Describe(args *Args, d *Description) error {
	if err := t.Divide(args, &d.Quotient); err != nil {
		return err
	}
	d.ID = fmt.Sprintf("%d/%d", args.A, args.B)
	d.Inputs = *args
	for i := 1; i <= 3; i++ {
		d.Steps = append(d.Steps, Quotient{Quo: args.A / (args.B * i), Rem: args.A % (args.B * i)})
	}
	d.URLPath = "/arith/" + d.ID
	return nil
}

// conns tracks open connections so they can be closed on shutdown.
type conns struct {
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

func (c *conns) add(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open[conn] = struct{}{}
}

func (c *conns) remove(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.open, conn)
}

func (c *conns) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.open {
		conn.Close()
	}
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("server: ")
	if err := rpc.Register(new(Arith)); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())

	live := &conns{open: make(map[net.Conn]struct{})}
	stopped := make(chan struct{})
	go func() {
		// Standard input is only a lifeline: reading ends when the parent closes it (or dies).
		io.Copy(io.Discard, os.Stdin)
		close(stopped)
		ln.Close()
		live.closeAll()
	}()

	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-stopped:
				return
			default:
				log.Fatal(err)
			}
		}
		live.add(conn)
		go func() {
			defer live.remove(conn)
			jsonrpc.ServeConn(conn)
		}()
	}
}
