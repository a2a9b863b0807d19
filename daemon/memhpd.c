/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memhpd: onlines hot-added memory blocks into the zone their NUMA node's policy names. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "nodemask.h"
#include "platform.h"
#include "sysfs.h"

static const char *arg_config = MEMHPD_CONF_PATH;
static bool arg_config_given;
static const char *arg_sysroot = "/";
static int arg_log_level = -1;
static bool arg_check_config;

/*
 * --check-config's second half: what each source gets on each possible node of the sysroot, on
 * its platform. Only reads; a sysroot it cannot read counts as generic with node 0 alone.
 */
static void print_policies(const MemhpConfig *config)
{
        _cleanup_close_ int root_fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        Platform platform = PLATFORM_GENERIC;
        NodeMask nodes = {.bits = {1}};
        char possible[256];
        int r;

        root_fd = open(arg_sysroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                fprintf(stderr,
                        "memhpd: cannot open sysroot '%s' (%m), assuming a generic "
                        "platform with node 0 only.\n",
                        arg_sysroot);
        else {
                r = platform_detect(root_fd, &platform);
                if (r < 0)
                        fprintf(stderr,
                                "memhpd: cannot tell the platform (%s), assuming "
                                "generic.\n",
                                strerror(-r));
                /* No node directory (no CONFIG_NUMA): node 0 is the only one. */
                if (sysfs_read_at(root_fd, "sys/devices/system/node/possible", possible,
                                  sizeof(possible)) >= 0 &&
                    nodemask_parse(possible, &nodes) < 0) {
                        fprintf(stderr,
                                "memhpd: cannot parse the possible nodes '%s', showing "
                                "node 0 only.\n",
                                possible);
                        nodes = (NodeMask){.bits = {1}};
                }
        }
        text = conf_format_policies(config, platform, &nodes);
        printf("\n%s", text ?: "");
}

static void help(void)
{
        printf("Usage: memhpd [OPTIONS]\n\n"
               "Onlines hot-added memory blocks per NUMA node policy.\n\n"
               "  -c --config=PATH      configuration file (default %s, plus PATH.d/*.conf)\n"
               "     --sysroot=DIR      root that holds sys/devices/system/memory (default /)\n"
               "     --log-level=LEVEL  debug, info, notice, warning or err (overrides LogLevel=)\n"
               "     --check-config     validate the configuration, print it and the policy of\n"
               "                        every source on every possible node, and exit\n"
               "  -h --help             show this help\n"
               "     --version          show the version\n",
               MEMHPD_CONF_PATH);
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_SYSROOT = 0x100, ARG_LOG_LEVEL, ARG_CHECK_CONFIG, ARG_VERSION };
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"sysroot", required_argument, NULL, ARG_SYSROOT},
                {"log-level", required_argument, NULL, ARG_LOG_LEVEL},
                {"check-config", no_argument, NULL, ARG_CHECK_CONFIG},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        arg_config_given = true;
                        break;
                case ARG_SYSROOT:
                        arg_sysroot = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        arg_log_level = log_level_from_string(optarg);
                        if (arg_log_level < 0) {
                                fprintf(stderr,
                                        "memhpd: invalid --log-level '%s', expected debug, "
                                        "info, notice, warning or err.\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("memhpd %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "memhpd: unexpected argument '%s'.\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ MemhpConfig *config = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        journal_setup();

        /* The config comes first: a bad one is a refusal to start, before any other step. */
        r = conf_load(arg_config, !arg_config_given, &config, &error);
        if (r < 0) {
                if (error)
                        fprintf(stderr, "%s\n", error);
                else
                        fprintf(stderr, "memhpd: failed to load '%s': %s\n", arg_config,
                                strerror(-r));
                fprintf(stderr, "memhpd: invalid configuration, refusing to start.\n");
                return 1;
        }
        if (arg_check_config) {
                _cleanup_free_ char *text = conf_format(config);

                printf("%s", text ? text : "");
                print_policies(config);
                fprintf(stderr, "memhpd: configuration '%s' is valid.\n", arg_config);
                return 0;
        }
        log_set_max_level(arg_log_level >= 0 ? arg_log_level : config->log_level);

        r = manager_new(arg_config, config, arg_sysroot, &m);
        if (r < 0) {
                log_oom();
                return 1;
        }
        config = NULL; /* the manager owns it now */
        m->config_missing_ok = !arg_config_given;
        m->log_level_override = arg_log_level;
        r = manager_start(m);
        if (r >= 0)
                r = manager_run(m);
        return r < 0 ? 1 : 0;
}
