// Makes TorchSharp's native bridge (libLibTorchSharp.so) load on systems whose libstdc++ predates GLIBCXX_3.4.32
// (Debian 12, Ubuntu 22.04). The library needs that version for exactly one symbol, std::ios_base_library_init(),
// which GCC 13 emits to initialise iostreams; older libstdc++ initialises them by itself. The patch:
//   1. marks the GLIBCXX_3.4.32 requirement weak in .gnu.version_r, so a missing version is not fatal;
//   2. clears that symbol's version in .gnu.version;
//   3. renames the symbol to a libc function without arguments (sched_yield), so the call binds to something harmless.
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory into the build task (netstandard2.0 API only), and
// by the tests.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace DiscriminativeTokens.Build
{
    public enum GlibcxxPatchOutcome
    {
        /// <summary>The file was rewritten.</summary>
        Patched,
        /// <summary>The file had been patched before; nothing changed.</summary>
        AlreadyPatched,
        /// <summary>The file does not require the version; nothing changed.</summary>
        NotRequired,
    }

    public static class LibTorchSharpGlibcxxPatcher
    {
        public const string MissingVersion = "GLIBCXX_3.4.32";
        public const string OffendingSymbol = "_ZSt21ios_base_library_initv";
        public const string ReplacementSymbol = "sched_yield";

        private const uint ShtDynsym = 11;
        private const uint ShtGnuVersym = 0x6fffffff;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlgWeak = 0x2;
        private const ushort VerNdxGlobal = 1;

        /// <summary>Patches <paramref name="path"/> in place (write to a temporary file, then rename).</summary>
        public static GlibcxxPatchOutcome PatchFile(string path)
        {
            byte[] image = File.ReadAllBytes(path);
            GlibcxxPatchOutcome outcome = Patch(image);
            if (outcome != GlibcxxPatchOutcome.Patched)
                return outcome;

            // Never write through the original inode: the output file may be a hard link into a package cache.
            // Copy (keeps the permission bits), overwrite the copy, then rename it over the original.
            string temp = path + ".glibcxx-patch.tmp";
            File.Copy(path, temp, overwrite: true);
            using (var stream = new FileStream(temp, FileMode.Open, FileAccess.Write))
                stream.Write(image, 0, image.Length);
            File.Replace(temp, path, destinationBackupFileName: null);
            return outcome;
        }

        /// <summary>Patches an ELF64 little-endian image held in memory.</summary>
        public static GlibcxxPatchOutcome Patch(byte[] image)
        {
            var elf = new ElfView(image);
            ElfView.Section dynsym = elf.FindSection(ShtDynsym, ".dynsym");
            ElfView.Section versym = elf.FindSection(ShtGnuVersym, ".gnu.version");
            ElfView.Section verneed = elf.FindSection(ShtGnuVerneed, ".gnu.version_r");
            ElfView.Section dynstr = elf.SectionAt((int)dynsym.Link);

            // Locate the vernaux entry for the missing version.
            int auxOffset = -1;
            ushort versionIndex = 0;
            int need = (int)verneed.Offset;
            for (uint i = 0; i < verneed.Info; i++)
            {
                ushort count = elf.U16(need + 2);
                int aux = need + (int)elf.U32(need + 8);
                for (int j = 0; j < count; j++)
                {
                    if (elf.CString((int)dynstr.Offset + (int)elf.U32(aux + 8)) == MissingVersion)
                    {
                        auxOffset = aux;
                        versionIndex = (ushort)(elf.U16(aux + 6) & 0x7fff);
                    }
                    aux += (int)elf.U32(aux + 12);
                }
                uint next = elf.U32(need + 12);
                if (next == 0) break;
                need += (int)next;
            }
            if (auxOffset < 0)
                return GlibcxxPatchOutcome.NotRequired;

            // Find every symbol bound to that version and the one symbol we know how to replace.
            int symbolCount = (int)(dynsym.Size / 24);
            var bound = new List<int>();
            int offendingIndex = -1;
            for (int s = 0; s < symbolCount; s++)
            {
                int sym = (int)dynsym.Offset + s * 24;
                string name = elf.CString((int)dynstr.Offset + (int)elf.U32(sym));
                if ((elf.U16((int)versym.Offset + s * 2) & 0x7fff) == versionIndex)
                    bound.Add(s);
                if (name == OffendingSymbol)
                    offendingIndex = s;
            }

            bool alreadyWeak = (elf.U16(auxOffset + 4) & VerFlgWeak) != 0;
            if (bound.Count == 0 && offendingIndex < 0 && alreadyWeak)
                return GlibcxxPatchOutcome.AlreadyPatched;
            if (bound.Count != 1 || offendingIndex != bound[0])
                throw new InvalidDataException(
                    $"{MissingVersion} is required by {bound.Count} symbol(s), expected only {OffendingSymbol}; " +
                    "this TorchSharp build is not the one the patch was written for.");

            int symbolEntry = (int)dynsym.Offset + offendingIndex * 24;
            if (elf.U16(symbolEntry + 6) != 0)
                throw new InvalidDataException($"{OffendingSymbol} is defined in this library; refusing to rename it.");
            uint nameOffset = elf.U32(symbolEntry);
            // The string must belong to this symbol alone (string tables may share suffixes).
            for (int s = 0; s < symbolCount; s++)
            {
                if (s == offendingIndex) continue;
                uint other = elf.U32((int)dynsym.Offset + s * 24);
                if (other >= nameOffset && other < nameOffset + OffendingSymbol.Length)
                    throw new InvalidDataException($"The name of {OffendingSymbol} is shared with another symbol.");
            }

            elf.WriteU16(auxOffset + 4, (ushort)(elf.U16(auxOffset + 4) | VerFlgWeak));
            elf.WriteU16((int)versym.Offset + offendingIndex * 2, VerNdxGlobal);
            int at = (int)dynstr.Offset + (int)nameOffset;
            byte[] replacement = Encoding.ASCII.GetBytes(ReplacementSymbol);
            Array.Clear(image, at, OffendingSymbol.Length);
            Array.Copy(replacement, 0, image, at, replacement.Length);
            return GlibcxxPatchOutcome.Patched;
        }

        /// <summary>
        /// True when the libstdc++ the dynamic loader would pick provides <paramref name="version"/>. Looks in
        /// LD_LIBRARY_PATH first, then the loader cache (ldconfig -p), then the usual directories.
        /// </summary>
        public static bool SystemLibstdcxxProvides(string version, out string? inspected)
        {
            foreach (string candidate in LibstdcxxCandidates())
            {
                if (!File.Exists(candidate)) continue;
                inspected = candidate;
                return ContainsAscii(File.ReadAllBytes(candidate), version + "\0");
            }
            inspected = null;
            return false;
        }

        private static IEnumerable<string> LibstdcxxCandidates()
        {
            string? ldPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ldPath))
                foreach (string dir in ldPath.Split(':'))
                    if (dir.Length > 0) yield return Path.Combine(dir, "libstdc++.so.6");

            foreach (string line in LoaderCache())
            {
                // "	libstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6"
                int arrow = line.IndexOf("=>", StringComparison.Ordinal);
                if (line.TrimStart().StartsWith("libstdc++.so.6 ", StringComparison.Ordinal) && arrow > 0 &&
                    (IntPtr.Size != 8 || line.Contains("64")))
                    yield return line.Substring(arrow + 2).Trim();
            }

            foreach (string dir in new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                                           "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" })
                yield return Path.Combine(dir, "libstdc++.so.6");
        }

        private static IEnumerable<string> LoaderCache()
        {
            foreach (string ldconfig in new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig" })
            {
                if (!File.Exists(ldconfig)) continue;
                string output;
                try
                {
                    var start = new System.Diagnostics.ProcessStartInfo(ldconfig, "-p")
                    {
                        RedirectStandardOutput = true,
                        RedirectStandardError = true,
                        UseShellExecute = false,
                    };
                    using var process = System.Diagnostics.Process.Start(start)!;
                    output = process.StandardOutput.ReadToEnd();
                    process.WaitForExit();
                }
                catch (Exception)
                {
                    continue;
                }
                return output.Split('\n');
            }
            return Array.Empty<string>();
        }

        private static bool ContainsAscii(byte[] haystack, string needle)
        {
            byte[] pattern = Encoding.ASCII.GetBytes(needle);
            for (int i = Array.IndexOf(haystack, pattern[0]); i >= 0 && i <= haystack.Length - pattern.Length;
                 i = Array.IndexOf(haystack, pattern[0], i + 1))
            {
                int k = 1;
                while (k < pattern.Length && haystack[i + k] == pattern[k]) k++;
                if (k == pattern.Length) return true;
            }
            return false;
        }
    }

    /// <summary>Minimal reader/writer over an ELF64 little-endian image: just what the patch needs.</summary>
    internal sealed class ElfView
    {
        internal readonly struct Section
        {
            public Section(uint type, ulong offset, ulong size, uint link, uint info, string name)
            {
                Type = type; Offset = offset; Size = size; Link = link; Info = info; Name = name;
            }
            public uint Type { get; }
            public ulong Offset { get; }
            public ulong Size { get; }
            public uint Link { get; }
            public uint Info { get; }
            public string Name { get; }
        }

        private readonly byte[] _image;
        private readonly Section[] _sections;

        public ElfView(byte[] image)
        {
            _image = image;
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
                throw new InvalidDataException("Not an ELF file.");
            if (image[4] != 2 || image[5] != 1)
                throw new InvalidDataException("Only 64-bit little-endian ELF files are supported.");
            ulong shoff = U64(0x28);
            ushort shentsize = U16(0x3A);
            ushort shnum = U16(0x3C);
            ushort shstrndx = U16(0x3E);
            if (shoff == 0 || shentsize != 64 || shoff + (ulong)shnum * 64 > (ulong)image.Length)
                throw new InvalidDataException("The ELF section header table is missing or truncated.");
            var raw = new (uint name, uint type, ulong offset, ulong size, uint link, uint info)[shnum];
            for (int i = 0; i < shnum; i++)
            {
                int h = (int)shoff + i * 64;
                raw[i] = (U32(h), U32(h + 4), U64(h + 24), U64(h + 32), U32(h + 40), U32(h + 44));
            }
            ulong names = raw[shstrndx].offset;
            _sections = new Section[shnum];
            for (int i = 0; i < shnum; i++)
            {
                var r = raw[i];
                if (r.type != 8 /* SHT_NOBITS */ && r.offset + r.size > (ulong)image.Length)
                    throw new InvalidDataException($"ELF section {i} extends past the end of the file.");
                _sections[i] = new Section(r.type, r.offset, r.size, r.link, r.info, CString((int)(names + r.name)));
            }
        }

        public Section FindSection(uint type, string name)
        {
            foreach (Section s in _sections)
                if (s.Type == type && s.Name == name) return s;
            throw new InvalidDataException($"The ELF file has no {name} section.");
        }

        public Section SectionAt(int index) =>
            index >= 0 && index < _sections.Length ? _sections[index] : throw new InvalidDataException($"No ELF section {index}.");

        public ushort U16(int at) => BitConverter.ToUInt16(_image, at);
        public uint U32(int at) => BitConverter.ToUInt32(_image, at);
        public ulong U64(int at) => BitConverter.ToUInt64(_image, at);
        public void WriteU16(int at, ushort value) => BitConverter.GetBytes(value).CopyTo(_image, at);

        public string CString(int at)
        {
            int end = Array.IndexOf(_image, (byte)0, at);
            if (end < 0) throw new InvalidDataException("Unterminated string in ELF string table.");
            return Encoding.ASCII.GetString(_image, at, end - at);
        }
    }

#if !DCT_PATCHER_WITHOUT_TASK
    /// <summary>MSBuild task: patches each given libLibTorchSharp.so when the system libstdc++ needs it.</summary>
    public sealed class PatchLibTorchSharpForOldLibstdcxx : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>auto (patch only where the system lacks the version), always, or never.</summary>
        public string Mode { get; set; } = "auto";

        public override bool Execute()
        {
            if (Mode == "never") return true;
            if (Mode == "auto")
            {
                if (LibTorchSharpGlibcxxPatcher.SystemLibstdcxxProvides(LibTorchSharpGlibcxxPatcher.MissingVersion, out string? lib))
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low,
                        $"{lib} provides {LibTorchSharpGlibcxxPatcher.MissingVersion}; TorchSharp needs no patch.");
                    return true;
                }
            }
            foreach (var item in Files)
            {
                string path = item.ItemSpec;
                try
                {
                    var outcome = LibTorchSharpGlibcxxPatcher.PatchFile(path);
                    if (outcome == GlibcxxPatchOutcome.Patched)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                            $"Patched {path} to load without {LibTorchSharpGlibcxxPatcher.MissingVersion} (system libstdc++ is older).");
                }
                catch (Exception e) when (e is InvalidDataException || e is IOException || e is UnauthorizedAccessException)
                {
                    Log.LogError($"Could not patch {path} for the system libstdc++: {e.Message}");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
