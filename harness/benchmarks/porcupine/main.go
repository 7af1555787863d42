// porcupine-bench: the reference timing for harness/benchmarks/checker_speed.py.
//
// It parses the same two Jepsen formats as harness/checkers/formats.py and checks them with
// Porcupine (github.com/anishathalye/porcupine), using the register and kv models and the
// log parsers of Porcupine's own test suite (porcupine_test.go, MIT licence), so the numbers
// are Porcupine as its authors run it. One JSON object per file on stdout:
//
//	{"file": "...", "format": "jepsen-register", "verdict": "linearizable", "seconds": 0.0012,
//	 "parse_seconds": 0.0003, "check_seconds": 0.0009, "repeats": 3}
//
// seconds = the fastest of -repeat runs of parse+check.
//
//	go run . -format jepsen-register FILE...
//	go run . -format jepsen-kv [-no-partition] FILE...
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"
)

// --- register (etcd) model, as in Porcupine's tests -----------------------------------

type etcdInput struct {
	op   uint8 // 0 => read, 1 => write, 2 => cas
	arg1 int   // write value, or cas from
	arg2 int   // cas to
}

type etcdOutput struct {
	ok      bool // cas
	exists  bool // read
	value   int  // read
	unknown bool // timed out
}

const nilValue = -1000000

var etcdModel = porcupine.Model{
	Init: func() interface{} { return nilValue },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(int)
		inp := input.(etcdInput)
		out := output.(etcdOutput)
		switch inp.op {
		case 0:
			ok := (!out.exists && st == nilValue) || (out.exists && st == out.value) || out.unknown
			return ok, state
		case 1:
			return true, inp.arg1
		default:
			ok := (inp.arg1 == st && out.ok) || (inp.arg1 != st && !out.ok) || out.unknown
			result := st
			if inp.arg1 == st {
				result = inp.arg2
			}
			return ok, result
		}
	},
}

var (
	invokeRead  = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:invoke\s+:read\s+nil$`)
	invokeWrite = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:invoke\s+:write\s+(\d+)$`)
	invokeCas   = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:invoke\s+:cas\s+\[(\d+)\s+(\d+)\]$`)
	returnRead  = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:ok\s+:read\s+(nil|\d+)$`)
	returnWrite = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:ok\s+:write\s+(\d+)$`)
	returnCas   = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(ok|fail)\s+:cas\s+\[(\d+)\s+(\d+)\]$`)
	timeoutRead = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:fail\s+:read\s+:timed-out$`)
)

func atoi(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return v
}

func readLines(filename string) []string {
	f, err := os.Open(filename)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// parseRegister: :info lines match nothing, so their calls stay open and get an "unknown"
// return at the end (may take effect any time after the call, or never).
func parseRegister(filename string) []porcupine.Event {
	var events []porcupine.Event
	id := 0
	open := map[int]int{}
	call := func(proc int, in etcdInput) {
		events = append(events, porcupine.Event{ClientId: proc, Kind: porcupine.CallEvent, Value: in, Id: id})
		open[proc] = id
		id++
	}
	ret := func(proc int, out etcdOutput) {
		match := open[proc]
		delete(open, proc)
		events = append(events, porcupine.Event{ClientId: proc, Kind: porcupine.ReturnEvent, Value: out, Id: match})
	}
	for _, line := range readLines(filename) {
		switch {
		case invokeRead.MatchString(line):
			a := invokeRead.FindStringSubmatch(line)
			call(atoi(a[1]), etcdInput{op: 0})
		case invokeWrite.MatchString(line):
			a := invokeWrite.FindStringSubmatch(line)
			call(atoi(a[1]), etcdInput{op: 1, arg1: atoi(a[2])})
		case invokeCas.MatchString(line):
			a := invokeCas.FindStringSubmatch(line)
			call(atoi(a[1]), etcdInput{op: 2, arg1: atoi(a[2]), arg2: atoi(a[3])})
		case returnRead.MatchString(line):
			a := returnRead.FindStringSubmatch(line)
			out := etcdOutput{}
			if a[2] != "nil" {
				out.exists, out.value = true, atoi(a[2])
			}
			ret(atoi(a[1]), out)
		case returnWrite.MatchString(line):
			a := returnWrite.FindStringSubmatch(line)
			ret(atoi(a[1]), etcdOutput{})
		case returnCas.MatchString(line):
			a := returnCas.FindStringSubmatch(line)
			ret(atoi(a[1]), etcdOutput{ok: a[2] == "ok"})
		case timeoutRead.MatchString(line):
			a := timeoutRead.FindStringSubmatch(line)
			ret(atoi(a[1]), etcdOutput{unknown: true})
		}
	}
	for proc, match := range open {
		events = append(events, porcupine.Event{ClientId: proc, Kind: porcupine.ReturnEvent,
			Value: etcdOutput{unknown: true}, Id: match})
	}
	return events
}

// --- kv model (per-key partitioned, or one map state), as in Porcupine's tests ----------

type kvInput struct {
	op    uint8 // 0 => get, 1 => put, 2 => append
	key   string
	value string
}

type kvOutput struct{ value string }

var kvModel = porcupine.Model{
	PartitionEvent: func(history []porcupine.Event) [][]porcupine.Event {
		m := map[string][]porcupine.Event{}
		match := map[int]string{}
		var order []string
		for _, v := range history {
			var key string
			if v.Kind == porcupine.CallEvent {
				key = v.Value.(kvInput).key
				match[v.Id] = key
			} else {
				key = match[v.Id]
			}
			if _, ok := m[key]; !ok {
				order = append(order, key)
			}
			m[key] = append(m[key], v)
		}
		var out [][]porcupine.Event
		for _, k := range order {
			out = append(out, m[k])
		}
		return out
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		inp, out, st := input.(kvInput), output.(kvOutput), state.(string)
		switch inp.op {
		case 0:
			return out.value == st, state
		case 1:
			return true, inp.value
		default:
			return true, st + inp.value
		}
	},
	Hash: func(state interface{}) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(string)))
		return h.Sum64()
	},
}

var kvNoPartitionModel = porcupine.Model{
	Init: func() interface{} { return map[string]string{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		inp, out, st := input.(kvInput), output.(kvOutput), state.(map[string]string)
		if inp.op == 0 {
			return out.value == st[inp.key], state
		}
		st2 := make(map[string]string, len(st)+1)
		for k, v := range st {
			st2[k] = v
		}
		if inp.op == 1 {
			st2[inp.key] = inp.value
		} else {
			st2[inp.key] = st2[inp.key] + inp.value
		}
		return true, st2
	},
	Equal: func(a, b interface{}) bool {
		s1, s2 := a.(map[string]string), b.(map[string]string)
		if len(s1) != len(s2) {
			return false
		}
		for k, v := range s1 {
			if w, ok := s2[k]; !ok || w != v {
				return false
			}
		}
		return true
	},
	Hash: func(state interface{}) uint64 {
		var h uint64
		for k, v := range state.(map[string]string) {
			kh := fnv.New64a()
			kh.Write([]byte(k))
			kh.Write([]byte(v))
			h ^= kh.Sum64()
		}
		return h
	},
}

var (
	invokeGet    = regexp.MustCompile(`{:process (\d+), :type :invoke, :f :get, :key "(.*)", :value nil}`)
	invokePut    = regexp.MustCompile(`{:process (\d+), :type :invoke, :f :put, :key "(.*)", :value "(.*)"}`)
	invokeAppend = regexp.MustCompile(`{:process (\d+), :type :invoke, :f :append, :key "(.*)", :value "(.*)"}`)
	returnGet    = regexp.MustCompile(`{:process (\d+), :type :ok, :f :get, :key ".*", :value "(.*)"}`)
	returnPut    = regexp.MustCompile(`{:process (\d+), :type :ok, :f :put, :key ".*", :value ".*"}`)
	returnAppend = regexp.MustCompile(`{:process (\d+), :type :ok, :f :append, :key ".*", :value ".*"}`)
)

func parseKv(filename string) []porcupine.Event {
	var events []porcupine.Event
	id := 0
	open := map[int]int{}
	call := func(proc int, in kvInput) {
		events = append(events, porcupine.Event{ClientId: proc, Kind: porcupine.CallEvent, Value: in, Id: id})
		open[proc] = id
		id++
	}
	ret := func(proc int, out kvOutput) {
		match := open[proc]
		delete(open, proc)
		events = append(events, porcupine.Event{ClientId: proc, Kind: porcupine.ReturnEvent, Value: out, Id: match})
	}
	for _, line := range readLines(filename) {
		switch {
		case invokeGet.MatchString(line):
			a := invokeGet.FindStringSubmatch(line)
			call(atoi(a[1]), kvInput{op: 0, key: a[2]})
		case invokePut.MatchString(line):
			a := invokePut.FindStringSubmatch(line)
			call(atoi(a[1]), kvInput{op: 1, key: a[2], value: a[3]})
		case invokeAppend.MatchString(line):
			a := invokeAppend.FindStringSubmatch(line)
			call(atoi(a[1]), kvInput{op: 2, key: a[2], value: a[3]})
		case returnGet.MatchString(line):
			a := returnGet.FindStringSubmatch(line)
			ret(atoi(a[1]), kvOutput{a[2]})
		case returnPut.MatchString(line):
			a := returnPut.FindStringSubmatch(line)
			ret(atoi(a[1]), kvOutput{})
		case returnAppend.MatchString(line):
			a := returnAppend.FindStringSubmatch(line)
			ret(atoi(a[1]), kvOutput{})
		}
	}
	for proc, match := range open {
		events = append(events, porcupine.Event{ClientId: proc, Kind: porcupine.ReturnEvent, Value: kvOutput{}, Id: match})
	}
	return events
}

type row struct {
	File         string  `json:"file"`
	Format       string  `json:"format"`
	Verdict      string  `json:"verdict"`
	Seconds      float64 `json:"seconds"`
	ParseSeconds float64 `json:"parse_seconds"`
	CheckSeconds float64 `json:"check_seconds"`
	Repeats      int     `json:"repeats"`
	Partitioned  bool    `json:"partitioned"`
}

func main() {
	format := flag.String("format", "jepsen-register", "jepsen-register or jepsen-kv")
	repeat := flag.Int("repeat", 3, "runs per file; the fastest is reported")
	noPartition := flag.Bool("no-partition", false, "kv: check the whole history as one map state")
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	for _, file := range flag.Args() {
		best := row{File: file, Format: *format, Seconds: -1, Repeats: *repeat, Partitioned: !*noPartition}
		for i := 0; i < *repeat; i++ {
			t0 := time.Now()
			var events []porcupine.Event
			model := etcdModel
			switch *format {
			case "jepsen-register":
				events = parseRegister(file)
			case "jepsen-kv":
				events = parseKv(file)
				model = kvModel
				if *noPartition {
					model = kvNoPartitionModel
				}
			default:
				fmt.Fprintf(os.Stderr, "unknown format %q\n", *format)
				os.Exit(2)
			}
			t1 := time.Now()
			ok := porcupine.CheckEvents(model, events)
			t2 := time.Now()
			if total := t2.Sub(t0).Seconds(); best.Seconds < 0 || total < best.Seconds {
				best.Seconds, best.ParseSeconds, best.CheckSeconds = total, t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds()
			}
			best.Verdict = "not-linearizable"
			if ok {
				best.Verdict = "linearizable"
			}
		}
		if err := enc.Encode(best); err != nil {
			panic(err)
		}
	}
}
