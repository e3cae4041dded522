/*
 * bcryptprimitives.dll for Wine 8, which does not ship one.
 *
 * Rust's standard library (1.78 and later) imports ProcessPrng from
 * bcryptprimitives.dll to seed its hash maps; without the DLL every Rust
 * program fails to load under Wine 8 (status c0000135). This stub exports
 * that one function and fills the buffer from BCryptGenRandom with the
 * system-preferred generator, which Wine does implement. It is only ever
 * installed into a throw-away Wine prefix by testrig/wine/windows-suite.sh.
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk,
                                            BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst;
    (void)reason;
    (void)reserved;
    return TRUE;
}
