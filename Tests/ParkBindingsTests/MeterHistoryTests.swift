import Foundation
import ParkBindings
import ParkCore
import ParkDevices
import ParkModbus
import ParkWire
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

    /// Time-of-use tariffs (分时计费, 004 L3482): energy is counted under the tariff in force on the
    /// meter's clock and priced at it; the tariffs add up to the total, and DL/T 645 answers them
    /// (current `0001 0T00`, the daily freeze's block `0506 01NN`).
    @Test func timeOfUseTariffsCountAndPriceEnergyByTheMetersClock() async throws {
        let kind = ElectricMeterKind()
        // valley 00–08 and 23–24 (9 h), peak 08–11 and 18–23 (8 h), flat 11–18 (7 h); sharp never.
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: [
            "tariff": "0.5", "accuracy": "0", "initial_energy": "2400", "balance": "500", "clock_start": "2026-03-01T00:00:00+08:00",
            "load_interval": "1d", "tariff_schedule": "00:00=valley, 08:00=peak, 11:00=flat, 18:00=peak, 23:00=valley",
            "tariff_prices": "peak=1.0, flat=0.6, valley=0.3",
        ])
        let registry = PolledStateRegistry()
        let engine = VirtualTimeEngine(ledger: Ledger())
        try engine.add(PlannedDevice(kind: kind, setup: DeviceSetup(
            id: "em-1", parameters: parameters, random: .forDevice("em-1", runSeed: 3), placement: Placement(zone: "M"), polled: registry)))
        engine.start()
        try engine.apply(Stimulus("load-set", arguments: ["kw": .double(10)]), to: "em-1")
        // Two days and 9½ hours: into the second morning peak of day three.
        engine.advance(by: DeviceDuration.seconds(2 * 86_400 + 9 * 3600 + 1800))
        let state = try #require(registry.state(of: "em-1"))
        let now = state.readings(at: engine.now)
        func value(_ point: String) -> Double {
            if case .double(let x)? = now.first(where: { $0.point == point })?.value { return x }
            return .nan
        }
        // The 2,400 kWh at the start shared as the day is (9 : 8 : 7), then 10 kW in each period.
        let expected: [String: Double] = ["sharp": 0, "peak": 800 + 2 * 80 + 15, "flat": 700 + 2 * 70, "valley": 900 + 2 * 90 + 80]
        for (tariff, kWh) in expected {
            #expect(abs(value("energy_import_1_\(tariff)") - kWh) < 1e-6, "\(tariff): \(value("energy_import_1_\(tariff)")) kWh, expected \(kWh)")
        }
        #expect(abs(value("energy_import_1") - expected.values.reduce(0, +)) < 1e-6, "the tariffs add up to the total")
        // Each kWh at its own price: 175 kWh peak, 140 flat, 260 valley since the start.
        #expect(abs(value("balance") - (500 - 175 * 1.0 - 140 * 0.6 - 260 * 0.3)) < 1e-6, "balance \(value("balance"))")

        let binding = try DLT645DeviceBinding(devices: [BoundDevice(id: "em-1", kind: "electric-meter", model: "m", zone: "M")], registry: registry)
        let port = try #require(try binding.start().first?.port)
        defer { binding.stop() }
        let master = try DLT645Master(host: "127.0.0.1", port: port, timeoutMicroseconds: 1_000_000)
        let energy = DLT645Number(bytes: 4, decimals: 2)
        // Read on the real clock, after the virtual run: the held values, to 0.01 kWh.
        #expect(try master.read(meter: "000000000001", identifier: 0x0001_0200, as: energy) == expected["peak"])
        #expect(try master.read(meter: "000000000001", identifier: 0x0001_0400, as: energy) == expected["valley"])
        // Last midnight's freeze (day three, 00:00): total, then sharp, peak, flat, valley.
        let block = try master.readBlock(meter: "000000000001", identifier: 0x0506_0101, as: energy)
        #expect(block == [2400 + 480, 0, 960, 840, 1080], "\(block)")
    }

    @Test func aTariffScheduleThatCannotBeReadIsRefusedByName() throws {
        let kind = ElectricMeterKind()
        for (schedule, message) in [
            ("08:00=peak", "tariff_schedule: the first period must start at 00:00"),
            ("00:00=valley, 25:00=peak", "tariff_schedule: '25:00=peak' needs a time of day HH:MM, such as 08:00"),
            ("00:00=cheap", "tariff_schedule: '00:00=cheap' names no tariff; use sharp, peak, flat, valley"),
            ("00:00=valley, 12:00=peak, 08:00=flat", "tariff_schedule: 08:00 does not come after the period before it; list the periods in the order of the day"),
        ] {
            let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: ["tariff_schedule": schedule])
            do {
                _ = try kind.makeDevice(DeviceSetup(id: "x", parameters: parameters, random: .forDevice("x", runSeed: 1), placement: Placement(zone: "M")))
                Issue.record("\(schedule) must be refused")
            } catch {
                #expect(error.message == message)
            }
        }
    }

    @Test func aClockStartThatIsNotADateIsRefusedByName() throws {
        let kind = ElectricMeterKind()
        let parameters = try DeviceParameters(descriptor: kind.descriptor, overrides: ["clock_start": "yesterday"])
        #expect(throws: DeviceError.self) {
            _ = try kind.makeDevice(DeviceSetup(id: "x", parameters: parameters, random: .forDevice("x", runSeed: 1), placement: Placement(zone: "M")))
        }
    }
}
