# ParkBench — two commands on a fresh Debian machine:
#   make demo    install what is missing, build, run the core conformance suite, then the
#                GB/T 28181 video suite, the OCPP charging suite, and the parking, access, elevators
#                and linkage suites (plugin kinds), against an embedded mosquitto and the reference
#                platform (FAULT=<switch> turns on one of the platform's fault switches, e.g.
#                FAULT=alarm-delay: the run must fail); SUITE=<name> runs only
#                conformance/suites/<name>.yaml, e.g. SUITE=failover
#   make test    install what is missing (libraries and test peers), build, run every test
# Other targets: build, bench, clean.
#   make fuzz    build the libFuzzer targets (fuzz/, own package and scratch path) and run each
#                for FUZZ_SECONDS (60); `make fuzz-smoke` runs each for 30 s (see fuzz/README.md)

SWIFT        ?= swift
SWIFT_FLAGS  ?=
BIN          := .build/debug/parkbench
DEMO_SUITE   ?= conformance/suites/park-core.yaml
DEMO_VIDEO_SUITE ?= conformance/suites/video.yaml
DEMO_CHARGING_SUITE ?= conformance/suites/charging.yaml
DEMO_PARKING_SUITE ?= conformance/suites/parking.yaml
DEMO_ROBOTS_SUITE ?= conformance/suites/robots.yaml
DEMO_BUILDING_SUITES ?= conformance/suites/access.yaml conformance/suites/elevators.yaml conformance/suites/linkage.yaml
FAULT        ?=
SUITE        ?=
BENCH_DEVICES  ?= 100000
BENCH_DURATION ?= 60
BENCH_MQTT_CLIENTS ?= 1000
BENCH_CONNECT_CLIENTS ?= 19500
BENCH_SIP_CAMERAS ?= 50000
BENCH_VIDEO_STREAMS ?= 200
BENCH_LOAD_DEVICES ?= 6000
BENCH_OCPP_CHARGERS ?= 10000

.PHONY: all deps deps-build build test demo bench clean fuzz fuzz-smoke

all: build

deps-build:
	@scripts/deps.sh build

deps:
	@scripts/deps.sh test

# `swift build` builds every product, the example plugin (libParkPluginExample.so) included.
build: deps-build
	$(SWIFT) build $(SWIFT_FLAGS)

# Unit-test targets (no sockets, no peers, no real-time waits) run in parallel; every other
# target runs one test at a time: those time real things (alarm latency, offline detection, wire
# timestamps) and, side by side on 2 cores, would time each other's load instead. A new unit-test
# target goes in UNIT_TESTS; socket and interop tests stay out of those targets.
# Suites of other targets that run on virtual time only (a VirtualPark, in-process platforms, no
# sockets) join them: UNIT_SUITES, by their Module.Suite name.
UNIT_TESTS := ParkWireTests|ParkSpoolTests|ParkVDA5050Tests|ParkGB28181Tests|ParkMediaTests|ParkCoreTests|ParkDevicesTests|ParkReportTests|SystemLibraryTests|ParkEventLoopTests
UNIT_SUITES := ParkHarnessTests\.(LoadCheckTests|LoadReportMergeTests|FailoverVirtualTests|VirtualFaultMatrixTests|VirtualParkingFaultMatrixTests|VirtualBuildingFaultMatrixTests|RobotViewTrackTests)|ParkOCPPTests\.(JSONReaderTests|OCPPFrameTests|OCPPChargePointSessionTests|OCPPCentralSystemSessionTests)
UNIT_PATTERN := ^(($(UNIT_TESTS))\.|($(UNIT_SUITES))/)
test: deps
	$(SWIFT) build $(SWIFT_FLAGS) --build-tests
	$(SWIFT) test $(SWIFT_FLAGS) --skip-build --parallel --filter '$(UNIT_PATTERN)'
	$(SWIFT) test $(SWIFT_FLAGS) --skip-build --no-parallel --skip '$(UNIT_PATTERN)'

# The demo embeds mosquitto, so it needs the test-time Debian packages too.
demo: deps
	$(SWIFT) build $(SWIFT_FLAGS)
ifeq ($(SUITE),)
	$(BIN) demo --suite $(DEMO_SUITE) $(if $(FAULT),--fault $(FAULT))
	$(BIN) demo --suite $(DEMO_VIDEO_SUITE) $(if $(FAULT),--fault $(FAULT))
	$(BIN) demo --suite $(DEMO_CHARGING_SUITE) $(if $(FAULT),--fault $(FAULT))
	$(BIN) demo --suite $(DEMO_PARKING_SUITE) $(if $(FAULT),--fault $(FAULT))
	$(BIN) demo --suite $(DEMO_ROBOTS_SUITE) $(if $(FAULT),--fault $(FAULT))
	for suite in $(DEMO_BUILDING_SUITES); do $(BIN) demo --suite $$suite $(if $(FAULT),--fault $(FAULT)) || exit $$?; done
else
	$(BIN) demo --suite conformance/suites/$(SUITE).yaml $(if $(FAULT),--fault $(FAULT))
endif

bench: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product parkbench-bench
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product parkbench  # load and ocpp run it as the platform
	.build/release/parkbench-bench timers --devices $(BENCH_DEVICES) --duration $(BENCH_DURATION)
	.build/release/parkbench-bench mqtt --clients $(BENCH_MQTT_CLIENTS) --seconds 10
	.build/release/parkbench-bench store --messages 200000
	.build/release/parkbench-bench connect --clients $(BENCH_CONNECT_CLIENTS)
	.build/release/parkbench-bench video --streams $(BENCH_VIDEO_STREAMS) --seconds 15
	.build/release/parkbench-bench load --devices $(BENCH_LOAD_DEVICES) --seconds 60 --probes 10
	.build/release/parkbench-bench video --streams $(BENCH_VIDEO_STREAMS) --seconds 10 --receiver platform
	.build/release/parkbench-bench sip --cameras $(BENCH_SIP_CAMERAS)
	.build/release/parkbench-bench ocpp --chargers $(BENCH_OCPP_CHARGERS) --seconds 60
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product ParkPluginLPRCamera  # the plugins and rush benchmarks load them
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product ParkPluginAccessTerminal
	.build/release/parkbench-bench plugins
	.build/release/parkbench-bench rush
	$(SWIFT) build -c release $(SWIFT_FLAGS) --product ParkPluginMobileRobot  # the robots benchmark loads it
	.build/release/parkbench-bench robots

# Every parser under libFuzzer + AddressSanitizer, one target after the other (niced); a crash,
# hang or out-of-memory fails make and prints the reproducer. Inputs found collect in fuzz/.work/.
FUZZ_SECONDS ?= 60
fuzz: deps-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

fuzz-smoke: deps-build
	FUZZ_SECONDS=30 fuzz/run.sh

clean:
	rm -rf .build
