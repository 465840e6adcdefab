import Foundation
import ParkProfiles
import Testing

/// The robots' park map (issue 19): nodes and ways, lengths from the points, shortest routes,
/// and broken files refused with every problem named.
@Suite struct ParkMapTests {
    @Test func theDemoMapLoadsAndRoutes() throws {
        let map = try ParkMap.load(file: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/maps/park-a.yaml").path)
        #expect(map.id == "park-a" && map.nodes.count == 18)
        #expect(map.nodes.filter(\.charger).map(\.id) == ["dock-1", "dock-2"])
        #expect(map.node("door-A1")?.door == "door-A1-01" && map.node("lift-A")?.elevator == "lift-A-01")
        #expect(map.edges.count == 36, "every way both directions")
        #expect(map.route(from: "lobby", to: "office-2") == ["lobby", "lift-hall", "lift-A2-1", "lift-A2-2", "office-2"], "up lift-A-02 (robot-lift-chain)")
        #expect(map.route(from: "lobby", to: "mailroom") == ["lobby", "front-desk", "mailroom"], "the courier's task in the robots suite")
        #expect(map.route(from: "dock-1", to: "lift-A") == ["dock-1", "yard", "porch", "door-A1", "lobby", "lift-A"])
        // B1 row 2 is nearer through the gate side? No: ramp → row 1 → row 2 (20 + 20) beats ramp → gate → row 2 (22.4 + 30).
        #expect(map.route(from: "yard", to: "b1-row-2") == ["yard", "b1-ramp", "b1-row-1", "b1-row-2"])
        let edge = try #require(map.edge(from: "yard", to: "porch"))
        #expect(abs(edge.length - 16) < 1e-9 && edge.maxSpeed == nil)
        #expect(map.edge(from: "lobby", to: "lift-A")?.maxSpeed == 0.5)
        #expect(map.route(from: "dock-1", to: "nowhere") == nil)
    }

    @Test func oneWayEdgesAndGivenLengthsAreKept() throws {
        let map = try ParkMap.parse("""
            map: m
            nodes: [{id: a, x: 0, y: 0}, {id: b, x: 3, y: 4}, {id: c, x: 100, y: 0}]
            edges:
              - {from: a, to: b, one_way: true}
              - {from: b, to: c, length: 7}
              - {from: a, to: c, length: 50}
            """, file: "m.yaml")
        #expect(map.edge(from: "a", to: "b")?.length == 5 && map.edge(from: "b", to: "a") == nil)
        #expect(map.route(from: "a", to: "c") == ["a", "b", "c"], "5 + 7 beats 50")
        #expect(map.route(from: "c", to: "a") == ["c", "a"])
        #expect(map.route(from: "b", to: "a") == ["b", "c", "a"])
    }

    @Test func brokenMapsAreRefusedWithEveryProblem() {
        do {
            _ = try ParkMap.parse("""
                map: m
                nodes:
                  - {id: a, x: 0, y: 0}
                  - {id: a, x: 1, y: 0}
                  - {id: b, x: 1}
                  - {id: c, x: 1, y: 1, charger: maybe}
                  - {id: car, x: 2, y: 1, elevator: lift-1}
                edges:
                  - {from: a, to: cc}
                  - {from: a, to: a}
                colour: red
                """, file: "m.yaml")
            Issue.record("a broken map must be refused")
        } catch {
            let messages = error.issues.map(\.description)
            for expected in [
                "node id 'a' is used twice", "a node needs x and y", "expected true or false, got 'maybe'",
                "no node 'cc' on the map; did you mean 'c'?", "an edge must join two different nodes", "unknown key 'colour'",
                "a lift's node needs the floor its car stands at there (floor:)",
            ] {
                #expect(messages.contains { $0.contains(expected) }, "\(expected) in \(messages)")
            }
            #expect(messages.allSatisfy { $0.hasPrefix("m.yaml:") }, "\(messages)")
        }
    }
}
