/*
 * bcryptprimitives.dll for Wine 8, which lacks it: Go 1.24+ programs load
 * it at start-up for ProcessPrng (the runtime's and crypto/rand's source of
 * randomness) and stop with "bcryptprimitives.dll not found" without it.
 * The CI only (see .ci/wine/run.sh): it is never shipped.
 *
 * ProcessPrng fills the buffer from BCryptGenRandom with the system's
 * preferred RNG, which Wine implements. Like Windows' own, it never fails:
 * if the system RNG does, the process stops rather than run on without
 * randomness.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            ExitProcess(0xC0000001);
        data += n;
        len -= n;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst; (void)reason; (void)reserved;
    return TRUE;
}
