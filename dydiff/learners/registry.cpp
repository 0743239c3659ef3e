// The learner table (see registry.hpp).
#include "dydiff/learners/registry.hpp"

#include "autograd/error.hpp"

#include <sstream>

namespace dydiff::learners {

namespace {

struct Entry {
    const char* name;
    void (*fields)(LearnerConfigs& configs, ConfigFields& fields);
    std::unique_ptr<Learner> (*make)(const LearnerConfigs& configs, const LearnerSpec& spec);
    std::size_t (*batch)(const LearnerConfigs& configs);
};

/// One table row per learner: its name, the LearnerConfigs member holding its config, its factory.
template <class Config, Config LearnerConfigs::*member,
          std::unique_ptr<Learner> (*factory)(const Config&, const LearnerSpec&)>
constexpr Entry entry(const char* name) {
    return {name, [](LearnerConfigs& c, ConfigFields& f) { (c.*member).fields(f); },
            [](const LearnerConfigs& c, const LearnerSpec& s) { return factory(c.*member, s); },
            [](const LearnerConfigs& c) { return (c.*member).batch; }};
}

const Entry kLearners[] = {
    entry<BcConfig, &LearnerConfigs::bc, &make_bc>("bc"),
    entry<Td3BcConfig, &LearnerConfigs::td3bc, &make_td3bc>("td3bc"),
    entry<IqlConfig, &LearnerConfigs::iql, &make_iql>("iql"),
    entry<CqlConfig, &LearnerConfigs::cql, &make_cql>("cql"),
    entry<DiffQlConfig, &LearnerConfigs::diffql, &make_diffql>("diffql"),
    entry<SacConfig, &LearnerConfigs::sac, &make_sac>("sac"),
};

const Entry& find(const std::string& algo) {
    for (const Entry& e : kLearners)
        if (algo == e.name) return e;
    std::ostringstream known;
    for (const Entry& e : kLearners) known << (&e == kLearners ? "" : ", ") << e.name;
    DYDIFF_FAIL("unknown learner '" << algo << "' (known: " << known.str() << ")");
}

}  // namespace

std::vector<std::string> learner_names() {
    std::vector<std::string> names;
    for (const Entry& e : kLearners) names.emplace_back(e.name);
    return names;
}

bool is_learner(const std::string& algo) {
    for (const Entry& e : kLearners)
        if (algo == e.name) return true;
    return false;
}

void learner_fields(const std::string& algo, LearnerConfigs& configs, ConfigFields& fields) {
    find(algo).fields(configs, fields);
}

std::size_t learner_batch(const std::string& algo, const LearnerConfigs& configs) {
    return find(algo).batch(configs);
}

std::unique_ptr<Learner> make_learner(const std::string& algo, const LearnerConfigs& configs,
                                      const LearnerSpec& spec) {
    return find(algo).make(configs, spec);
}

}  // namespace dydiff::learners
