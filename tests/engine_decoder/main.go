// Command engine_decoder reads request bodies the way Docker Engine 20.10.24 reads them, with
// the engine's own code: the `containers/create` decoder (moby runconfig.ContainerDecoder,
// which merges the top-level legacy host fields into the HostConfig), and Go's encoding/json
// into the engine's API types for `services/create` (swarm.ServiceSpec) and `auth`
// (types.AuthConfig), as moby's routers do. The differential test (tests/unit/
// test_api_proxy_differential.py) sends it every body the API proxy forwards and compares
// what the engine would apply with what the policy approved.
//
// Protocol: one JSON object per line on stdin, {"route": "...", "body": "<the bytes>"}; one
// per line on stdout, {"ok": true, "view": {...}} or {"ok": false, "error": "..."}. With
// -fields it prints the JSON field names of the types the policy checks, for the fuzzer.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/runconfig"
)

type request struct {
	Route string `json:"route"`
	Body  string `json:"body"`
}

type answer struct {
	OK    bool        `json:"ok"`
	View  interface{} `json:"view,omitempty"`
	Error string      `json:"error,omitempty"`
}

func decode(r request) answer {
	body := bytes.NewReader([]byte(r.Body))
	switch r.Route {
	case "/containers/create":
		config, host, networking, err := runconfig.ContainerDecoder{}.DecodeConfig(body)
		if err != nil {
			return answer{Error: err.Error()}
		}
		return answer{OK: true, View: map[string]interface{}{
			"Config": config, "HostConfig": host, "NetworkingConfig": networking,
		}}
	case "/services/create":
		var spec swarm.ServiceSpec
		if err := json.NewDecoder(body).Decode(&spec); err != nil {
			return answer{Error: err.Error()}
		}
		return answer{OK: true, View: spec}
	case "/auth":
		var config *types.AuthConfig
		if err := json.NewDecoder(body).Decode(&config); err != nil {
			return answer{Error: err.Error()}
		}
		return answer{OK: true, View: config}
	}
	return answer{Error: "unknown route " + r.Route}
}

// fields lists the JSON names of a struct type's fields, embedded structs' included.
func fields(t reflect.Type, into map[string]bool) {
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		field := t.Field(i)
		if field.Anonymous {
			fields(field.Type, into)
			continue
		}
		name := strings.Split(field.Tag.Get("json"), ",")[0]
		if name == "-" {
			continue
		}
		if name == "" {
			name = field.Name
		}
		into[name] = true
	}
}

func printFields() {
	types := map[string]reflect.Type{
		"Config":         reflect.TypeOf(container.Config{}),
		"HostConfig":     reflect.TypeOf(container.HostConfig{}),
		"Mount":          reflect.TypeOf(mount.Mount{}),
		"VolumeOptions":  reflect.TypeOf(mount.VolumeOptions{}),
		"ServiceSpec":    reflect.TypeOf(swarm.ServiceSpec{}),
		"TaskSpec":       reflect.TypeOf(swarm.TaskSpec{}),
		"ContainerSpec":  reflect.TypeOf(swarm.ContainerSpec{}),
		"ResourceLimits": reflect.TypeOf(swarm.Limit{}),
	}
	out := map[string][]string{}
	for name, t := range types {
		set := map[string]bool{}
		fields(t, set)
		for field := range set {
			out[name] = append(out[name], field)
		}
		sort.Strings(out[name])
	}
	encoded, _ := json.Marshal(out)
	fmt.Println(string(encoded))
}

func main() {
	listFields := flag.Bool("fields", false, "print the field names of the checked types")
	flag.Parse()
	if *listFields {
		printFields()
		return
	}
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	writer := bufio.NewWriter(os.Stdout)
	for scanner.Scan() {
		var r request
		var a answer
		if err := json.Unmarshal(scanner.Bytes(), &r); err != nil {
			a = answer{Error: "bad request line: " + err.Error()}
		} else {
			a = decode(r)
		}
		encoded, err := json.Marshal(a)
		if err != nil {
			encoded, _ = json.Marshal(answer{Error: err.Error()})
		}
		writer.Write(encoded)
		writer.WriteString("\n")
		writer.Flush()
	}
}
