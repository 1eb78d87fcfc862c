import CroniumCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where an unsandboxed run without a cgroup leaves the id and start time of its process group,
/// so that after a crash of the server (kill -9, power loss) the next start can end whatever the
/// run left running. Sandboxed runs need none (bubblewrap's --die-with-parent ends them), nor do
/// runs in a cgroup (leftover groups are emptied at start-up).
struct ProcessGroupRecords: Sendable {
    let directory: String

    /// Notes a run's process group; called right after the spawn. What the script forks stays in
    /// its group (unless it starts a session of its own).
    func record(group: pid_t, run: ExecutionID) {
        guard let started = Self.startTime(of: group) else { return }
        let record = Data("\(group) \(started)\n".utf8)
        // The directory is made when the first record needs it, not looked for on every run.
        if !FileManager.default.createFile(atPath: path(run), contents: record, attributes: [.posixPermissions: 0o600]) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            _ = FileManager.default.createFile(atPath: path(run), contents: record, attributes: [.posixPermissions: 0o600])
        }
    }

    /// Forgets a run that ended normally (its group was killed at its end).
    func forget(run: ExecutionID) { unlink(path(run)) }

    /// Kills every process of every recorded group that is still there, then forgets them all.
    /// A process counts only if it started no earlier than its group's leader did, so a pid the
    /// system has given to someone else since is left alone.
    func endSurvivors() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for entry in entries {
            defer { unlink("\(directory)/\(entry)") }
            guard let text = try? String(contentsOfFile: "\(directory)/\(entry)", encoding: .utf8) else { continue }
            let fields = text.split(whereSeparator: \.isWhitespace)
            guard fields.count == 2, let group = pid_t(fields[0]), let started = UInt64(fields[1]) else { continue }
            for (member, _) in ProcessRun.processes(inGroup: group) where (Self.startTime(of: member) ?? 0) >= started {
                kill(member, SIGKILL)
            }
        }
    }

    private func path(_ run: ExecutionID) -> String { "\(directory)/\(run)" }

    /// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot.
    static func startTime(of pid: pid_t) -> UInt64? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let stat = String(decoding: data, as: UTF8.self)
        guard let afterName = stat.lastIndex(of: ")") else { return nil }
        // "pid (name) state ppid …": the fields after the name start at field 3.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
