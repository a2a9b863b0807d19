/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/strv.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "test-util.h"

TEST(empty)
{
        _cleanup_strv_free_ char **l = NULL;

        ASSERT_EQ(strv_length(NULL), 0);
        ASSERT_TRUE(strv_free(NULL) == NULL);
        strv_sort(NULL);
        ASSERT_TRUE(l == NULL);
}

TEST(extend_copies)
{
        _cleanup_strv_free_ char **l = NULL;
        char name[] = "10-a.conf";

        ASSERT_OK(strv_extend(&l, name));
        /* The list owns a copy: the caller's buffer may change. */
        name[0] = 'X';
        ASSERT_OK(strv_extend(&l, ""));
        ASSERT_OK(strv_extend(&l, "b"));
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_STREQ(l[0], "10-a.conf");
        ASSERT_STREQ(l[1], "");
        ASSERT_STREQ(l[2], "b");
        ASSERT_TRUE(l[3] == NULL);
}

TEST(sort_is_byte_order)
{
        _cleanup_strv_free_ char **l = NULL;
        static const char *const in[] = {"b.conf",  "B.conf", "a.conf", "\xc3\xa4.conf",
                                         "10.conf", "9.conf", "a.conf"};
        static const char *const want[] = {"10.conf", "9.conf", "B.conf",       "a.conf",
                                           "a.conf",  "b.conf", "\xc3\xa4.conf"};

        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
                ASSERT_OK(strv_extend(&l, in[i]));
        strv_sort(l);
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                ASSERT_STREQ(l[i], want[i]);
        ASSERT_TRUE(l[sizeof(want) / sizeof(want[0])] == NULL);

        l = strv_free(l);
        ASSERT_TRUE(l == NULL);
}
