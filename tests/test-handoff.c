/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for handoff_kernel_online_type(): which configurations the kernel can apply. */
#include <stdlib.h>

#include "conf.h"
#include "handoff.h"
#include "macro.h"
#include "test-util.h"

static MemhpConfig *config(const char *text)
{
        MemhpConfig *c = NULL;
        _cleanup_free_ char *error = NULL;

        ASSERT_EQ(conf_load_string(text, "test.conf", &c, &error), 0);
        return c;
}

static void assert_type(const char *text, const char *want)
{
        _cleanup_free_ MemhpConfig *c = config(text);
        const char *got = handoff_kernel_online_type(c);

        if (!want)
                ASSERT_TRUE(got == NULL);
        else {
                ASSERT_TRUE(got != NULL);
                ASSERT_STREQ(got, want);
        }
}

TEST(expressible)
{
        assert_type("[Policy]\nDefault=online_movable\n", "online_movable");
        assert_type("[Policy]\nDefault=online_kernel\n", "online_kernel");
        assert_type("[Policy]\nDefault=online\n", "online");
        /* A node of its own with the same policy changes nothing. */
        assert_type("[Policy]\nDefault=online_movable\n[Node 3]\nPolicy=online_movable\n",
                    "online_movable");
        assert_type("[Policy]\nDefault=online_movable\n[Source dimm]\nPolicy=online_movable\n"
                    "[Node 1 Source dax]\n"
                    "Policy=online_movable\n",
                    "online_movable");
        assert_type("[Policy]\nDefault=online_kernel\n[Node 0]\nPolicy=online_kernel\n"
                    "[Node 1023]\nPolicy=online_kernel\n",
                    "online_kernel");
}

TEST(not_expressible)
{
        assert_type("", NULL); /* the built-in Default=auto */
        assert_type("[Policy]\nDefault=online_movable\nKernelOnline=no\n", NULL);
        assert_type("[Policy]\nDefault=auto-movable\n", NULL);
        assert_type("[Policy]\nDefault=ignore\n", NULL);
        assert_type("[Policy]\nDefault=online_movable\n[Node 1]\nPolicy=online_kernel\n", NULL);
        assert_type("[Policy]\nDefault=online_movable\n[Node 1023]\nPolicy=ignore\n", NULL);
        assert_type("[Policy]\nDefault=online_kernel\n[Node 2]\nPolicy=online\n", NULL);
        assert_type("[Policy]\nDefault=auto\n", NULL);
        assert_type("[Policy]\nDefault=online_movable\n[Source dimm]\nPolicy=online_kernel\n",
                    NULL);
        assert_type("[Policy]\nDefault=online_movable\n[Node 1 Source virtio-mem]\n"
                    "Policy=ignore\n",
                    NULL);
        ASSERT_TRUE(handoff_kernel_online_type(NULL) == NULL);
}
