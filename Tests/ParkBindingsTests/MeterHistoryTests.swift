import Foundation
import ParkBindings
import ParkCore
import ParkDevices
import ParkModbus
import Testing

/// An electricity meter run for 400 days of virtual time keeps its hourly, daily and monthly
/// freezes (004 L3484–3488: 12 months of history) and answers them over DL/T 645 with the
/// standard's frozen data items; each settled month is also reported as an event.
@Suite struct MeterHistoryTests {
    @Test func fourHundredDaysLeaveTwelveSettlementsAndTheFreezesOnTheMetersClock() async throws {
        let kind = ElectricMeterKind()
        // Held at 10 kW, no prepayment, no meter error: energy grows by exactly 10 kWh an hour.
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: [
            "tariff": "0", "accuracy": "0", "initial_energy": "1000", "clock_start": "2026-01-01T00:00:00+08:00", "load_interval": "1d",
        ])
        let registry = PolledStateRegistry()
        let ledger = Ledger()
        let engine = VirtualTimeEngine(ledger: ledger)
        try engine.add(PlannedDevice(kind: kind, setup: DeviceSetup(
            id: "em-1", parameters: parameters, random: .forDevice("em-1", runSeed: 3), placement: Placement(zone: "M"), polled: registry)))
        engine.start()
        try engine.apply(Stimulus("load-set", arguments: ["kw": .double(10)]), to: "em-1")
        engine.advance(by: DeviceDuration.seconds(400 * 86_400 + 1_800))

        let state = try #require(registry.state(of: "em-1"))
        func energy(_ record: FrozenReadings?) -> Double? {
            if case .double(let value)? = record?.readings.first(where: { $0.point == "energy_import_1" })?.value { return value }
            return nil
        }
        // 2027-02-05 00:30 on the meter's clock: the last settlement was 2027-02-01 00:00 (396 days in).
        let lastMonth = try #require(state.frozen(.month, back: 1))
        #expect(lastMonth.time.description == "2027-02-01 00:00")
        let twelfth = try #require(state.frozen(.month, back: 12))
        #expect(twelfth.time.description == "2026-03-01 00:00", "twelve months kept")
        // 2026-03-01 to 2027-02-01 is 337 days; the freezes hold exactly the energy between them.
        #expect(abs((energy(lastMonth) ?? 0) - (energy(twelfth) ?? 0) - 10 * 337 * 24) < 1e-6)
        #expect(state.frozen(.month, back: 13) == nil, "and no more")
        #expect(state.frozen(.day, back: 1)?.time.description == "2027-02-05 00:00")
        #expect(abs((energy(state.frozen(.day, back: 1)) ?? 0) - (energy(lastMonth) ?? 0) - 10 * 4 * 24) < 1e-6)
        #expect(state.frozen(.day, back: 62)?.time.description == "2026-12-06 00:00")
        #expect(state.frozen(.hour, back: 1)?.time.description == "2027-02-05 00:00")
        #expect(abs((energy(state.frozen(.hour, back: 1)) ?? 0) - (energy(state.frozen(.hour, back: 2)) ?? 0) - 10) < 1e-6)
        let settled = try ledger.records().filter { $0.name == "month-settled" }
        #expect(settled.count == 13, "Feb 2026 … Feb 2027: one event per settlement")
        #expect(settled.last?.readings.first { $0.point == "month" }?.value == .string("2027-02"))

        // The same history over DL/T 645, read with the standard's frozen data items.
        let binding = try DLT645DeviceBinding(devices: [BoundDevice(id: "em-1", kind: "electric-meter", model: "m", zone: "M")], registry: registry)
        let port = try #require(try binding.start().first?.port)
        defer { binding.stop() }
        let master = try DLT645Master(host: "127.0.0.1", port: port, timeoutMicroseconds: 1_000_000)
        let total = DLT645Number(bytes: 4, decimals: 2)
        func rounded(_ value: Double?) -> Double { ((value ?? -1) * 100).rounded() / 100 }
        #expect(try master.read(meter: "000000000001", identifier: 0x0001_0001, as: total) == rounded(energy(lastMonth)))
        #expect(try master.read(meter: "000000000001", identifier: 0x0001_000C, as: total) == rounded(energy(twelfth)))
        #expect(try master.read(meter: "000000000001", identifier: 0x0506_0101, as: total) == rounded(energy(state.frozen(.day, back: 1))))
        // Freeze times come back as YYMMDDhhmm: 2027-02-05 00:00 → 2702050000 (decimals 0, five bytes).
        #expect(try master.read(meter: "000000000001", identifier: 0x0506_0001, as: DLT645Number(bytes: 5, decimals: 0)) == 2_702_050_000)
        #expect(throws: DLT645Master.Failure.self) { try master.read(meter: "000000000001", identifier: 0x0001_000D, as: total) }
    }

    @Test func aClockStartThatIsNotADateIsRefusedByName() throws {
        let kind = ElectricMeterKind()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: ["clock_start": "yesterday"])
        #expect(throws: DeviceError.self) {
            _ = try kind.makeDevice(DeviceSetup(id: "x", parameters: parameters, random: .forDevice("x", runSeed: 1), placement: Placement(zone: "M")))
        }
    }
}
