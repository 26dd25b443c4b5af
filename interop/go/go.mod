module farcall.example/interop

go 1.19
