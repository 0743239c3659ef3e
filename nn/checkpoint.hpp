// Checkpoints: named arrays of any dtype in one NPZ file (data/npz.hpp), which numpy's np.load opens as it is.
// Layering: nn/ (on data/npz and nn/module). Keys are "<section>/<name>": a module's parameters under their dotted
// names ("model/down.0.res0.conv0.weight"), optimizer moments ("adam/m.layers.0.weight"), scalars such as
// "meta/step" (int64) and byte blobs such as "rng/state" (uint8).
// Writing is atomic (temp file + rename). Loading a module checks everything at once: one error lists the missing,
// unexpected and mis-shaped parameters, and names the file. Model files carry "format/kind" and "format/version"
// (put_format / check_format); their key scheme is in docs/checkpoints.md.
#pragma once

#include "autograd/error.hpp"
#include "data/npz.hpp"
#include "nn/module.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace dydiff::nn {

class Checkpoint {
public:
    Checkpoint() = default;
    /// Reads a checkpoint file (any np.savez archive).
    static Checkpoint load(const std::string& path);
    /// The checkpoint an archive already read holds (load is from_npz(read_npz(path))); its path names it in errors.
    static Checkpoint from_npz(const data::NpzFile& file);
    /// Writes all entries, in insertion order, atomically.
    void save(const std::string& path) const;

    void put(const std::string& key, const autograd::Array& value);
    void put(const std::string& key, data::NpyArray array);
    void put_int64(const std::string& key, std::int64_t value);
    void put_bytes(const std::string& key, const std::vector<std::uint8_t>& bytes);
    /// Text as uint8 bytes (numpy: bytes(c[key]).decode()).
    void put_text(const std::string& key, const std::string& text);
    void put_int64s(const std::string& key, const std::vector<std::int64_t>& values);
    /// 0-d float32 / float64 scalars.
    void put_float32(const std::string& key, float value);
    void put_float64(const std::string& key, double value);
    /// "format/kind" (text) and "format/version" (int64): what a model file holds, checked by check_format.
    void put_format(const std::string& kind, std::int64_t version);
    /// Every parameter of `module` under "<section>/<dotted name>".
    void put_module(const std::string& section, const Module& module);

    bool contains(const std::string& key) const;
    /// The array under key as float32 (converted from any stored dtype); an error names the file and key if absent.
    autograd::Array get(const std::string& key) const;
    std::int64_t get_int64(const std::string& key) const;
    std::vector<std::uint8_t> get_bytes(const std::string& key) const;
    std::string get_text(const std::string& key) const;
    /// A 1-d int64 array.
    std::vector<std::int64_t> get_int64s(const std::string& key) const;
    /// An int64 scalar in [min, max] as a size (dims, widths, counts); an error names the file, the key and the value.
    std::size_t get_size(const std::string& key, std::int64_t min = 1, std::int64_t max = INT64_MAX) const;
    /// The bounds a model reader puts on the architecture a file claims, so that a damaged file cannot make it build
    /// (allocate) a model larger than the file (docs/reliability.md): every width of a model is a dimension of one of
    /// its stored float weights under "<section>/", and every count (layers, members) is at most their number.
    std::int64_t largest_dim(const std::string& section) const;
    std::int64_t array_count(const std::string& section) const;
    /// One float32 / float64 value of exactly that dtype.
    float get_float32(const std::string& key) const;
    double get_float64(const std::string& key) const;
    /// Arrays "<section>/<name>" for every name of `like`, as constant tensors of the same shapes (optimizer moments,
    /// EMA copies). A missing or mis-shaped entry fails naming the file and the key.
    NamedTensors get_tensors(const std::string& section, const NamedTensors& like) const;
    /// The stored array under key, any dtype, unconverted.
    const data::NpyArray& array(const std::string& key) const;
    /// Copies "<section>/*" into the module's parameters. Missing, unexpected and mis-shaped entries fail together
    /// in one error, and nothing is modified then.
    void load_module(const std::string& section, Module& module) const;
    /// Keys in order.
    std::vector<std::string> keys() const;
    /// Throws NonFiniteError ("<who>: key 'k' holds NaN or Inf (element i is nan); not written") unless every
    /// float32/float64 array is finite. Every trainer calls it before save(): no checkpoint holds a NaN or Inf.
    void require_finite(const std::string& who) const;
    /// Fails unless this is a model file of `kind` in `version` (put_format). A file without "format/version" was
    /// written before model files recorded their format (or is no model file): the error says so and names the file.
    void check_format(const std::string& kind, std::int64_t version) const;
    /// Runs f() and returns its result; a dydiff::Error thrown inside whose message does not name this checkpoint's
    /// file is rethrown with "<file>: " in front, so every error met while interpreting a file names it.
    template <class F>
    decltype(auto) naming_errors(F&& f) const {
        try {
            return f();
        } catch (const Error& e) {
            rethrow_naming_source(e);
        }
    }
    /// The file this checkpoint was read from ("" for one built in memory), for error messages.
    const std::string& source() const { return source_; }

private:
    [[noreturn]] void rethrow_naming_source(const Error& e) const;
    std::string where() const { return source_.empty() ? "checkpoint" : source_; }

    std::string source_;
    std::vector<data::NpzEntry> entries_;
};

/// What a training run that met a NaN or Inf can go back to: "the last good checkpoint is <file> (step <step>)" when
/// step >= 1, else "no checkpoint exists yet (the first is due at step <first_due>)".
std::string last_good_checkpoint(const std::string& file, std::int64_t step, std::int64_t first_due);
/// Rethrows `e` (a NonFiniteError) with "; stopping. <last_good>; hint: ..." appended: the one message every trainer
/// ends with when its numbers stop being finite (docs/reliability.md).
[[noreturn]] void stop_non_finite(const NonFiniteError& e, const std::string& last_good);

/// The model file a path names: `run_or_file` itself when it is a file, `run_or_file/file_in_run` when it is a
/// directory (a run directory of `command`, e.g. "train-dynamics"). Anything else fails with one error naming the
/// path, the file expected inside and the command that writes it.
std::string model_file(const std::string& run_or_file, const std::string& file_in_run, const std::string& command);

}  // namespace dydiff::nn
