module github.com/spmd-go/spmd

go 1.26
