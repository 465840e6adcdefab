// Test fixtures: everything tests need to run real peers. The broker and child-process helpers
// live in ParkBroker because `parkbench demo` embeds a mosquitto too; tests reach them here.
@_exported import ParkBroker
