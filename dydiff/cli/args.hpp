// Command-line flags for the `dydiff` subcommands: one small parser so every command spells and checks its
// flags the same way. Flags are `--name value` or `--name=value`; switches (declared up front, and always --help,
// also spelled -h) are `--name`; other words are positional. Every mistake is a UsageError naming the command and
// the flag, and pointing at the command's --help (exit code 2).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace dydiff::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Args {
public:
    /// `command` names the subcommand in errors ("dataset info"); `words` are the words after it; `switches` are
    /// the flags that take no value (--json, --resume).
    Args(std::string command, const std::vector<std::string>& words, const std::set<std::string>& switches = {});

    /// A switch (declared in the constructor) such as --json: true when present.
    bool flag(const std::string& name);
    /// --help or -h given.
    bool help() { return flag("help"); }
    /// The value of --name, or nullopt when absent.
    std::optional<std::string> value(const std::string& name);
    std::string value_or(const std::string& name, const std::string& fallback);
    /// An integer value in [lo, hi]; `fallback` when absent.
    std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t lo, std::int64_t hi);
    /// A real value in [lo, hi]; `fallback` when absent.
    double real(const std::string& name, double fallback, double lo, double hi);
    /// Every value of a repeatable flag (--set k=v --set k2=v2).
    std::vector<std::string> values(const std::string& name);
    /// The command's name, as in messages ("dataset info").
    const std::string& command() const { return command_; }
    /// Positional words, in order.
    const std::vector<std::string>& positional() const { return positional_; }
    /// Fails on any flag no getter asked for, and on more positional words than `max_positional`.
    void finish(std::size_t max_positional);
    /// Throws UsageError("dydiff COMMAND: message (see 'dydiff COMMAND --help')").
    [[noreturn]] void fail(const std::string& message) const;

private:
    std::string command_;
    std::set<std::string> switches_;
    std::vector<std::pair<std::string, std::optional<std::string>>> flags_;  // in order: name, value
    std::vector<std::string> positional_;
    std::set<std::string> asked_;
};

/// Applies --threads N (1..1024) if given; otherwise DYDIFF_NUM_THREADS (checked here: an invalid value is a
/// UsageError) or the core count stays in force.
void apply_threads(Args& args);

}  // namespace dydiff::cli
