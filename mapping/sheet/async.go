package sheet

import "io"

// asyncReader decompresses ahead in a goroutine, so that inflating the
// sheet and scanning its XML use two cores. Chunks are recycled; at most
// asyncChunks chunks are in flight.
type asyncReader struct {
	full chan chunk
	free chan []byte
	stop chan struct{}
	done chan struct{}
	cur  []byte
	buf  []byte // the chunk cur points into
	err  error
}

type chunk struct {
	b   []byte
	err error
}

const (
	asyncChunkSize = 256 << 10
	asyncChunks    = 4
)

func newAsyncReader(src io.Reader) *asyncReader {
	a := &asyncReader{
		full: make(chan chunk, asyncChunks),
		free: make(chan []byte, asyncChunks+1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for i := 0; i < asyncChunks; i++ {
		a.free <- make([]byte, asyncChunkSize)
	}
	go func() {
		defer close(a.done)
		for {
			var b []byte
			select {
			case b = <-a.free:
			case <-a.stop:
				return
			}
			n, err := io.ReadFull(src, b[:cap(b)])
			if err == io.ErrUnexpectedEOF {
				err = io.EOF // a short last chunk
			}
			select {
			case a.full <- chunk{b[:n], err}:
			case <-a.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

func (a *asyncReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		if a.buf != nil {
			a.free <- a.buf[:cap(a.buf)]
			a.buf = nil
		}
		c := <-a.full
		a.buf, a.cur, a.err = c.b, c.b, c.err
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it (it may be inside a read of
// the source, which must not be closed before).
func (a *asyncReader) Close() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	<-a.done
}
