// Dataset I/O.
#include "data/dataset.hpp"

#include "autograd/error.hpp"
#include "data/npz.hpp"

namespace dydiff::data {

void save_dataset_npz(const Dataset& d, const std::string& path) {
    const std::size_t n = d.size();
    DYDIFF_CHECK(d.actions.shape()[0] == n && d.rewards.size() == n && d.terminals.size() == n && d.timeouts.size() == n,
                 path << ": cannot save a dataset whose arrays disagree in length (observations " << n << ", actions "
                      << d.actions.shape()[0] << ", rewards " << d.rewards.size() << ", terminals " << d.terminals.size()
                      << ", timeouts " << d.timeouts.size() << ")");
    std::vector<NpzEntry> entries;
    entries.emplace_back("observations", NpyArray::from_xarray(d.observations));
    entries.emplace_back("actions", NpyArray::from_xarray(d.actions));
    entries.emplace_back("rewards", NpyArray::from_xarray(d.rewards));
    entries.emplace_back("terminals", NpyArray::from_xarray(xt::xarray<bool>(xt::not_equal(d.terminals, 0.0f))));
    entries.emplace_back("timeouts", NpyArray::from_xarray(xt::xarray<bool>(xt::not_equal(d.timeouts, 0.0f))));
    if (d.next_observations) entries.emplace_back("next_observations", NpyArray::from_xarray(*d.next_observations));
    for (const auto& [key, value] : d.infos) {
        DYDIFF_CHECK(value.dimension() >= 1 && value.shape()[0] == n,
                     path << ": info '" << key << "' has shape " << shape_str(value.shape()) << ", expected first axis " << n);
        entries.emplace_back(key, NpyArray::from_xarray(value));
    }
    write_npz(path, entries);
}

}  // namespace dydiff::data
