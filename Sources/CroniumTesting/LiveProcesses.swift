import Foundation

/// Processes still alive (zombies aside) whose command line contains `marker`: how tests find
/// what a run left behind.
public func livePIDs(withMarker marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        let cmdline = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        guard cmdline.contains(marker), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), !stat.contains(") Z ")
        else { return nil }
        return pid
    }
}
