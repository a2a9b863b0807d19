/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/nodemask.c: kernel node lists. */
#include <errno.h>

#include "nodemask.h"
#include "test-util.h"

TEST(parse)
{
        NodeMask m;

        ASSERT_OK(nodemask_parse("0-2,4\n", &m));
        ASSERT_TRUE(nodemask_test(&m, 0) && nodemask_test(&m, 1) && nodemask_test(&m, 2));
        ASSERT_TRUE(!nodemask_test(&m, 3));
        ASSERT_TRUE(nodemask_test(&m, 4));
        ASSERT_TRUE(!nodemask_test(&m, 5));
        ASSERT_TRUE(!nodemask_test(&m, MEMHP_MAX_NODES));

        ASSERT_OK(nodemask_parse("0", &m));
        ASSERT_TRUE(nodemask_test(&m, 0) && !nodemask_test(&m, 1));
        ASSERT_OK(nodemask_parse("", &m));
        ASSERT_TRUE(!nodemask_test(&m, 0));
        ASSERT_OK(nodemask_parse("1023", &m));
        ASSERT_TRUE(nodemask_test(&m, 1023) && !nodemask_test(&m, 1022));
        ASSERT_OK(nodemask_parse("63-65", &m));
        ASSERT_TRUE(nodemask_test(&m, 63) && nodemask_test(&m, 64) && nodemask_test(&m, 65));

        ASSERT_ERROR(nodemask_parse("1024", &m), ERANGE);
        ASSERT_ERROR(nodemask_parse("0-1024", &m), ERANGE);
        ASSERT_ERROR(nodemask_parse("2-1", &m), EINVAL);
        ASSERT_ERROR(nodemask_parse("a", &m), EINVAL);
        ASSERT_ERROR(nodemask_parse("-1", &m), EINVAL);
        ASSERT_ERROR(nodemask_parse("1-", &m), EINVAL);
        ASSERT_ERROR(nodemask_parse("0x1", &m), EINVAL);
}
