"""The concurrent prime sieve, as in Go's tour and its oldest test programs.

    python samples/prime_sieve.py [N]      # print the first N primes (default 100)

Go's version:

    func generate(ch chan<- int) {
        for i := 2; ; i++ { ch <- i }
    }
    func filter(in <-chan int, out chan<- int, prime int) {
        for { i := <-in; if i%prime != 0 { out <- i } }
    }
    func main() {
        ch := make(chan int)
        go generate(ch)
        for i := 0; i < 100; i++ {
            prime := <-ch
            fmt.Println(prime)
            ch1 := make(chan int)
            go filter(ch, ch1, prime)
            ch = ch1
        }
    }

Every number travels down a daisy chain of goroutines, one per prime found so
far, through unbuffered channels: each hop is a send that finds the next
filter parked in "chan receive" and hands the value straight to it (chan.go's
direct hand-off), then a goready that puts that filter in runnext.  When main
has its primes it returns, and -- as in Go, where the program just exits --
gort.run ends the filters and the generator still blocked in their sends.
"""

import sys
import time

import gort


def generate(ch: gort.Chan) -> None:
    i = 2
    while True:
        ch.send(i)
        i += 1


def filter_(src: gort.Chan, dst: gort.Chan, prime: int) -> None:
    while True:
        i = src.recv()
        if i % prime != 0:
            dst.send(i)


def main(n: int) -> list[int]:
    ch = gort.chan()
    gort.go(generate, ch)
    primes = []
    for _ in range(n):
        prime = ch.recv()
        primes.append(prime)
        ch1 = gort.chan()
        gort.go(filter_, ch, ch1, prime)
        ch = ch1
    return primes


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    t = time.perf_counter()
    primes = gort.run(main, n)
    dt = time.perf_counter() - t
    print(" ".join(map(str, primes)))
    print(f"{n} primes through a chain of {n} filter goroutines in {dt * 1e3:.0f} ms")
