// Checkpoints: named arrays of any dtype in one NPZ file (data/npz.hpp), which numpy's np.load opens as it is.
// Layering: nn/ (on data/npz and nn/module). Keys are "<section>/<name>": a module's parameters under their dotted
// names ("model/down.0.res0.conv0.weight"), optimizer moments ("adam/m.layers.0.weight"), scalars such as
// "meta/step" (int64) and byte blobs such as "rng/state" (uint8).
// Writing is atomic (temp file + rename). Loading a module checks everything at once: one error lists the missing,
// unexpected and mis-shaped parameters, and names the file.
#pragma once

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
    /// Writes all entries, in insertion order, atomically.
    void save(const std::string& path) const;

    void put(const std::string& key, const autograd::Array& value);
    void put(const std::string& key, data::NpyArray array);
    void put_int64(const std::string& key, std::int64_t value);
    void put_bytes(const std::string& key, const std::vector<std::uint8_t>& bytes);
    /// Every parameter of `module` under "<section>/<dotted name>".
    void put_module(const std::string& section, const Module& module);

    bool contains(const std::string& key) const;
    /// The array under key as float32 (converted from any stored dtype); an error names the file and key if absent.
    autograd::Array get(const std::string& key) const;
    std::int64_t get_int64(const std::string& key) const;
    std::vector<std::uint8_t> get_bytes(const std::string& key) const;
    /// The stored array under key, any dtype, unconverted.
    const data::NpyArray& array(const std::string& key) const;
    /// Copies "<section>/*" into the module's parameters. Missing, unexpected and mis-shaped entries fail together
    /// in one error, and nothing is modified then.
    void load_module(const std::string& section, Module& module) const;
    /// Keys in order.
    std::vector<std::string> keys() const;
    /// The file this checkpoint was read from ("" for one built in memory), for error messages.
    const std::string& source() const { return source_; }

private:
    std::string source_;
    std::vector<data::NpzEntry> entries_;
};

}  // namespace dydiff::nn
