import Foundation
import ParkCore
import ParkReport

/// Asks the platform for a camera's live video and ends it, through the profile's `video.play`
/// and `video.stop` requests, and finds what the platform reported about the session on its
/// `video` stream — what the live-video checks share.
struct VideoSessionRequests {
    let play: PlatformProfile.CommandEndpoint
    let stop: PlatformProfile.CommandEndpoint?

    /// The profile's requests; a failure naming what is missing when it has no `video.play`.
    static func from(_ context: HarnessContext) -> Result<VideoSessionRequests, CheckFailure> {
        guard let video = context.profile.video else {
            return .failure(CheckFailure("the platform profile has no video: section (a GB/T 28181 SIP server to register the cameras to)"))
        }
        guard let play = video.play else {
            return .failure(CheckFailure("the platform profile's video: section has no play: request to ask the platform for live video"))
        }
        return .success(VideoSessionRequests(play: play, stop: video.stop))
    }

    /// Asks for `device`'s live video; nil when the platform took the request, else what went wrong.
    func start(_ device: String, in context: HarnessContext) async -> String? {
        await send(play, device: device, in: context)
    }

    /// Ends `device`'s video; the problem, if the platform refused (nil also without a `stop:`).
    @discardableResult
    func end(_ device: String, in context: HarnessContext) async -> String? {
        guard let stop else { return nil }
        return await send(stop, device: device, in: context)
    }

    private func send(_ endpoint: PlatformProfile.CommandEndpoint, device: String, in context: HarnessContext) async -> String? {
        guard let address = context.videoIDs[device] else { return "\(device) is not on GB/T 28181 (its model has no gb28181: section)" }
        let channel = address.channels.first ?? address.id
        func fill(_ template: String, url: Bool) -> String {
            let encode: (String) -> String = { url ? ($0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? $0) : $0 }
            return template.replacingOccurrences(of: "{device}", with: encode(address.id)).replacingOccurrences(of: "{channel}", with: encode(channel))
        }
        guard let url = URL(string: fill(endpoint.url, url: true)) else { return "bad URL \(endpoint.url)" }
        switch await context.request(method: endpoint.method, url: url, body: Array(fill(endpoint.body, url: false).utf8)) {
        case .success(let answer):
            return (200 ..< 300).contains(answer.status) ? nil : "HTTP \(answer.status) \(String(decoding: answer.body.prefix(120), as: UTF8.self))"
        case .failure(let failure):
            return failure.description
        }
    }

    /// The platform's reports on `device`'s video since `since`, oldest first.
    static func reports(_ device: String, since: Int64, in context: HarnessContext) -> [Observation] {
        context.observations.observations(.video, since: since).filter { $0.device == device }
    }
}
