/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memhpctl: options, verb dispatch, and the verbs too small for a file of their own. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "request.h"
#include "strutil.h"
#include "target.h"

/* Which options a verb takes: anything else is bad usage rather than silently ignored. */
enum {
        OPT_JSON = 1 << 0,
        OPT_NO_LEGEND = 1 << 1,
        OPT_NODE = 1 << 2,
        OPT_SIZE = 1 << 3,
        OPT_ZONE = 1 << 4,
        OPT_DRY_RUN = 1 << 5,
        OPT_OUTPUT = 1 << 6,
        OPT_DEVICE = 1 << 7,
};

static const struct {
        unsigned flag;
        const char *name;
} option_names[] = {
        {OPT_JSON, "--json"},     {OPT_NO_LEGEND, "--no-legend"}, {OPT_NODE, "--node"},
        {OPT_SIZE, "--size"},     {OPT_ZONE, "--zone"},           {OPT_DRY_RUN, "--dry-run"},
        {OPT_OUTPUT, "--output"}, {OPT_DEVICE, "--device"},
};

static void help(void)
{
        printf("memhpctl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Query and control memhpd, the memory hotplug policy daemon.\n"
               "\n"
               "Commands:\n"
               "  status [--json]           memhpd's version and event source, the block size,\n"
               "                            per node: policy, zone sizes, block counts, CPUs,\n"
               "                            memory tier, sources; the effective policy of\n"
               "                            each source on each node and the rule deciding it;\n"
               "                            memhpd's counters\n"
               "  list [--node N] [-o COLS] [--json]\n"
               "                            memory blocks; adjacent blocks that agree in every\n"
               "                            shown column are merged into one range, as lsmem\n"
               "                            does\n"
               "  devices [--node N] [-o COLS] [--json]\n"
               "                            hotplug devices (DIMMs, virtio-mem, dax) and their\n"
               "                            blocks\n"
               "  online [--zone Z] TARGET  online blocks in one transaction\n"
               "  offline TARGET            offline blocks in one transaction, highest\n"
               "                            address first\n"
               "  policy [NODE [POLICY]]    show the node policies, or set one until memhpd\n"
               "                            reloads or restarts\n"
               "  reload                    make memhpd re-read memhpd.conf\n"
               "  rescan                    make memhpd re-read every memory block\n"
               "  monitor                   print block and device changes as they happen\n"
               "  metrics [--output FILE]   memhpd's counters in the Prometheus text format\n"
               "\n"
               "TARGET:\n"
               "  32 or memory32            one block\n"
               "  32-47, 32,40-47           ranges and comma-separated lists of blocks\n"
               "  0x100000000-0x13fffffff   a physical address range: inclusive end, block\n"
               "                            aligned\n"
               "  --node N                  all offline blocks of node N (for offline: all\n"
               "                            its online blocks)\n"
               "  --node N --size 2G        that much of them, highest addresses first\n"
               "  --device ID               all blocks of a device (memhpctl devices lists\n"
               "                            them); offline says whether it is now safe to\n"
               "                            remove\n"
               "\n"
               "Options:\n"
               "  -h --help                 show this help\n"
               "     --version              show the version\n"
               "     --json                 list, devices: JSON, one object per row, sizes in\n"
               "                            bytes; status: one JSON object\n"
               "     --no-legend            no column headings, summaries or notes\n"
               "  -n --node=N               list, devices: only node N; online/offline: see\n"
               "                            TARGET\n"
               "  -s --size=SIZE            with --node: how much, with K, M, G or T suffix\n"
               "  -z --zone=ZONE            online: movable, kernel, or auto (the default): as\n"
               "                            the node's policy says\n"
               "     --dry-run              online/offline: print the plan, change nothing\n"
               "  -d --device=ID            online/offline: see TARGET\n"
               "  -o --output=COLS          list, devices: the columns to show, comma-separated;\n"
               "                            +COLS adds to the defaults; 'help' lists them\n"
               "  -o --output=FILE          metrics: replace FILE atomically instead of printing\n"
               "\n"
               "Columns:\n"
               "  list     RANGE SIZE STATE ZONE NODE BLOCK SOURCE DEVICE HELD\n"
               "  devices  DEVICE SOURCE BACKING NODE RANGE SIZE BLOCKS ONLINE ZONES\n"
               "\n"
               "Ctrl-C during online or offline asks memhpd to cancel and roll back, and\n"
               "reports the outcome; a second Ctrl-C stops waiting.\n"
               "\n"
               "Exit status:\n"
               "   0  success\n"
               "   1  failure: memhpd not running, permission denied, unknown block or node...\n"
               "   2  online/offline failed and memhpd rolled every block back\n"
               "   3  online/offline failed and left some blocks changed (rollback incomplete)\n"
               "  64  bad usage\n");
}

static int call_simple(const char *method)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (ctl_bus_open(&bus) < 0)
                return CTL_EXIT_FAILURE;
        r = sd_bus_call_method(bus, MEMHP_BUS_NAME, MEMHP_BUS_PATH, MEMHP_BUS_INTERFACE, method,
                               &error, NULL, NULL);
        if (r < 0)
                return ctl_log_bus_error(&error, r, method);
        return CTL_EXIT_SUCCESS;
}

static int verb_reload(char **args, size_t n_args, const CtlArgs *arg)
{
        (void)args, (void)n_args, (void)arg;
        return call_simple("Reload");
}

static int verb_rescan(char **args, size_t n_args, const CtlArgs *arg)
{
        (void)args, (void)n_args, (void)arg;
        return call_simple("Rescan");
}

static const struct Verb {
        const char *name;
        size_t max_args; /* online and offline explain extra arguments themselves */
        unsigned options;
        verb_fn fn;
} verbs[] = {
        {"status", 0, OPT_JSON | OPT_NO_LEGEND, verb_status},
        {"list", 0, OPT_JSON | OPT_NO_LEGEND | OPT_NODE | OPT_OUTPUT, verb_list},
        {"devices", 0, OPT_JSON | OPT_NO_LEGEND | OPT_NODE | OPT_OUTPUT, verb_devices},
        {"online", SIZE_MAX,
         OPT_NODE | OPT_SIZE | OPT_ZONE | OPT_DRY_RUN | OPT_NO_LEGEND | OPT_DEVICE, verb_online},
        {"offline", SIZE_MAX, OPT_NODE | OPT_SIZE | OPT_DRY_RUN | OPT_NO_LEGEND | OPT_DEVICE,
         verb_offline},
        {"policy", 2, OPT_NO_LEGEND, verb_policy},
        {"reload", 0, 0, verb_reload},
        {"rescan", 0, 0, verb_rescan},
        {"monitor", 0, 0, verb_monitor},
        {"metrics", 0, OPT_OUTPUT, verb_metrics},
};

int main(int argc, char *argv[])
{
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_NO_LEGEND,
                ARG_DRY_RUN,
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"json", no_argument, NULL, ARG_JSON},
                {"no-legend", no_argument, NULL, ARG_NO_LEGEND},
                {"node", required_argument, NULL, 'n'},
                {"size", required_argument, NULL, 's'},
                {"zone", required_argument, NULL, 'z'},
                {"dry-run", no_argument, NULL, ARG_DRY_RUN},
                {"output", required_argument, NULL, 'o'},
                {"device", required_argument, NULL, 'd'},
                {},
        };
        CtlArgs arg = {.legend = true, .zone = MEMHP_ZONE_AUTO};
        const struct Verb *verb = NULL;
        unsigned given = 0;
        size_t n_args;
        TargetError err;
        int c;

        log_set_ident("memhpctl");
        /* getopt's own complaints would lack our prefix and exit code: report them ourselves. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hn:s:z:o:d:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return CTL_EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("memhpctl %s\n", PACKAGE_VERSION);
                        return CTL_EXIT_SUCCESS;
                case ARG_JSON:
                        arg.json = true;
                        given |= OPT_JSON;
                        break;
                case ARG_NO_LEGEND:
                        arg.legend = false;
                        given |= OPT_NO_LEGEND;
                        break;
                case 'n':
                        if (target_parse_node(optarg, &arg.node, &err) < 0) {
                                log_error("%s", err.message);
                                return CTL_EXIT_USAGE;
                        }
                        arg.has_node = true;
                        given |= OPT_NODE;
                        break;
                case 's':
                        arg.size = optarg;
                        given |= OPT_SIZE;
                        break;
                case 'z':
                        /* The daemon's own list of zone names, so the two cannot drift. */
                        if (request_zone_from_string(optarg) < 0) {
                                log_error("Unknown zone '%s': expected " MEMHP_ZONE_CHOICES ".",
                                          optarg);
                                return CTL_EXIT_USAGE;
                        }
                        arg.zone = optarg;
                        given |= OPT_ZONE;
                        break;
                case ARG_DRY_RUN:
                        arg.dry_run = true;
                        given |= OPT_DRY_RUN;
                        break;
                case 'o':
                        if (!*optarg) {
                                log_error("--output needs a value: a file name for metrics, "
                                          "columns for list and devices.");
                                return CTL_EXIT_USAGE;
                        }
                        arg.output = optarg;
                        given |= OPT_OUTPUT;
                        break;
                case 'd':
                        if (!*optarg) {
                                log_error("--device needs a device id (memhpctl devices lists "
                                          "them).");
                                return CTL_EXIT_USAGE;
                        }
                        arg.device = optarg;
                        given |= OPT_DEVICE;
                        break;
                case ':':
                        log_error("Option '%s' needs a value.", argv[optind - 1]);
                        return CTL_EXIT_USAGE;
                default:
                        if (optopt)
                                log_error("Unknown option '-%c'; see 'memhpctl --help'.", optopt);
                        else
                                log_error("Unknown option '%s'; see 'memhpctl --help'.",
                                          argv[optind - 1]);
                        return CTL_EXIT_USAGE;
                }
        }

        if (optind >= argc) {
                log_error("Missing command; see 'memhpctl --help'.");
                return CTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs) && !verb; i++)
                if (streq(argv[optind], verbs[i].name))
                        verb = &verbs[i];
        if (!verb) {
                log_error("Unknown command '%s'; see 'memhpctl --help'.", argv[optind]);
                return CTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(option_names); i++)
                if ((given & option_names[i].flag) && !(verb->options & option_names[i].flag)) {
                        log_error("'%s' does not take %s.", verb->name, option_names[i].name);
                        return CTL_EXIT_USAGE;
                }
        n_args = (size_t)(argc - optind - 1);
        if (n_args > verb->max_args) {
                log_error("Unexpected argument '%s' for '%s'.", argv[optind + 1 + verb->max_args],
                          verb->name);
                return CTL_EXIT_USAGE;
        }
        return verb->fn(argv + optind + 1, n_args, &arg);
}
