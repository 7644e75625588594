// SPDX-License-Identifier: MIT
using System;
using System.IO;
using NUnit.Framework;
using VirtioLoopback.Devices.Rng;

namespace VirtioLoopback.Tests.Rng;

[TestFixture]
public sealed class EntropySourceTests
{
    [Test]
    public void GetRandom_FillsEverythingAndIsNotConstant()
    {
        using GetRandomSource source = new();
        byte[] a = new byte[4096];
        byte[] b = new byte[4096];
        Assert.That(source.Fill(a), Is.EqualTo(a.Length));
        Assert.That(source.Fill(b), Is.EqualTo(b.Length));
        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(Array.TrueForAll(a, x => x == a[0]), Is.False);
    }

    [Test]
    public void RegularFile_WrapsAtEnd()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rng-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        try
        {
            using FileEntropySource source = FileEntropySource.Open(path);
            byte[] buffer = new byte[12];
            Assert.That(source.Fill(buffer), Is.EqualTo(12));
            Assert.That(buffer, Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2 }));
            byte[] next = new byte[4];
            Assert.That(source.Fill(next), Is.EqualTo(4));
            Assert.That(next, Is.EqualTo(new byte[] { 3, 4, 5, 1 }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void EmptyFile_IsRefusedAtOpen()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rng-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, []);
        try
        {
            Assert.Throws<IOException>(() => FileEntropySource.Open(path).Dispose());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void MissingFile_IsRefusedAtOpen() =>
        Assert.That(() => FileEntropySource.Open("/nonexistent/rng-source").Dispose(), Throws.InstanceOf<IOException>());

    [Test]
    public void CharacterDevice_Reads()
    {
        using FileEntropySource source = FileEntropySource.Open("/dev/urandom");
        byte[] buffer = new byte[1000];
        Assert.That(source.Fill(buffer), Is.EqualTo(1000));
        Assert.That(Array.TrueForAll(buffer, x => x == 0), Is.False);
    }
}
