package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// generated is what the generator wrote.
type generated struct {
	lines     int
	bytes     int64
	downloads int64 // lines pando stats ingest must count: GET 200 of an object
}

// combinedTime is the combined log format's time layout.
const combinedTime = "02/Jan/2006:15:04:05 -0700"

var userAgents = []string{
	"Apache-Maven/3.9.6 (Java 21.0.2; Linux 6.1.0-18-amd64)",
	"curl/8.5.0",
	"Wget/1.21.4",
	"aria2/1.37.0",
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Go-http-client/2.0",
	"Gradle/8.7 (Linux;6.1.0;amd64) (Eclipse Adoptium;21.0.2;21.0.2+13-LTS)",
}

var referers = []string{"-", "-", "-", "-", "https://example.org/download/", "https://www.google.com/"}

// objects returns n Maven-like object paths.
func objects(n int) []string {
	out := make([]string, n)
	for i := range out {
		g, a := i/40, i/8
		v := fmt.Sprintf("%d.%d.%d", i%8, i%5, i%3)
		out[i] = fmt.Sprintf("org/example%d/lib-%d/%s/lib-%d-%s.jar", g, a, v, a, v)
	}
	return out
}

// generate writes cfg.lines lines of a combined log ending at end to w.
func generate(w io.Writer, cfg config, end time.Time) (generated, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(cfg.seed, 0x9e3779b97f4a7c15))
	objs := objects(cfg.objects)
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(len(objs)-1))
	zone := time.FixedZone("CET", 3600)
	start := end.Add(-time.Duration(cfg.days) * 24 * time.Hour)
	step := time.Duration(cfg.days) * 24 * time.Hour / time.Duration(cfg.lines)
	var g generated
	var b []byte
	for i := range cfg.lines {
		t := start.Add(time.Duration(i) * step).In(zone)
		var counted bool
		b, counted = appendLine(b[:0], rng, objs[zipf.Uint64()], t)
		if counted {
			g.downloads++
		}
		n, err := bw.Write(b)
		if err != nil {
			return g, err
		}
		g.bytes += int64(n)
		g.lines++
	}
	return g, bw.Flush()
}

// appendLine appends one line about obj at t, of a kind drawn from rng,
// and says whether it is a download.
func appendLine(b []byte, rng *rand.Rand, obj string, t time.Time) ([]byte, bool) {
	k := rng.IntN(1000)
	switch {
	case k < 15: // garbage: a broken line, or a TLS handshake sent to the plain port
		return appendGarbage(b, rng, t), false
	case k < 840:
		target := "/" + obj
		switch {
		case k < 60:
			target += "?sha1=" + strconv.FormatUint(rng.Uint64(), 16)
		case k < 80:
			target = "/" + strings.ReplaceAll(obj, "-", "%2D")
		}
		return appendRequest(b, rng, t, "GET", target, 200, 1000+rng.IntN(5_000_000)), true
	case k < 870:
		return appendRequest(b, rng, t, "HEAD", "/"+obj, 200, 0), false
	case k < 910:
		return appendRequest(b, rng, t, "GET", "/"+obj+".missing", 404, 153), false
	case k < 930:
		return appendRequest(b, rng, t, "GET", "/"+obj, 304, 0), false
	case k < 950:
		return appendRequest(b, rng, t, "GET", "/"+obj, 206, 1<<20), false
	case k < 965:
		return appendRequest(b, rng, t, "GET", "/.pando/checkpoint", 200, 240), false
	case k < 975:
		return appendRequest(b, rng, t, "GET", "/"+obj[:strings.LastIndexByte(obj, '/')+1], 200, 2000), false
	default:
		return appendRequest(b, rng, t, "POST", "/"+obj, 405, 0), false
	}
}

func appendRequest(b []byte, rng *rand.Rand, t time.Time, method, target string, status, size int) []byte {
	b = appendClient(b, rng)
	b = append(b, " - - ["...)
	b = t.AppendFormat(b, combinedTime)
	b = append(b, "] \""...)
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, " \""...)
	b = append(b, referers[rng.IntN(len(referers))]...)
	b = append(b, "\" \""...)
	b = append(b, userAgents[rng.IntN(len(userAgents))]...)
	return append(b, "\"\n"...)
}

func appendClient(b []byte, rng *rand.Rand) []byte {
	if rng.IntN(10) == 0 {
		return fmt.Appendf(b, "2001:db8:%x::%x", rng.IntN(1<<16), rng.IntN(1<<16))
	}
	ip := rng.Uint32()
	return fmt.Appendf(b, "%d.%d.%d.%d", ip>>24, ip>>16&255, ip>>8&255, ip&255)
}

func appendGarbage(b []byte, rng *rand.Rand, t time.Time) []byte {
	switch rng.IntN(3) {
	case 0:
		b = appendClient(b, rng)
		b = append(b, " - - ["...)
		b = t.AppendFormat(b, combinedTime)
		return append(b, "] \"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\" 400 157 \"-\" \"-\"\n"...)
	case 1:
		return append(b, "2024/11/23 10:00:00 [error] 1234#0: *5 open() failed (2: No such file or directory)\n"...)
	}
	b = appendClient(b, rng)
	b = append(b, " - - ["...)
	b = t.AppendFormat(b, combinedTime)
	return append(b, "] \"GET /truncated-by-a-full-disk\n"...)
}
