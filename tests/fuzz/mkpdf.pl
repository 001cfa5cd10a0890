#!/usr/bin/env perl
# mkpdf.pl: writes small hand-made PDFs, byte for byte, with a correct
# cross-reference table. They are the seeds of the PDF fuzzer
# (tests/fuzz/corpus/pdf/, made once with this script and committed) and the
# generated bad inputs of integration.pdf-robustness, made at test time.
# Only standard Type 1 fonts (nothing embedded), so the files stay small.
# Not a general PDF writer: each KIND is one fixed shape.
#   mkpdf.pl paper OUT          two pages laid out like a paper: title,
#                               authors with superscript markers,
#                               affiliation, DOI, abstract, keywords,
#                               acknowledgements, funding, references
#   mkpdf.pl paper-flate OUT    the same with Flate-compressed content
#   mkpdf.pl zero OUT           a page tree with /Count 0 and no pages
#   mkpdf.pl image OUT          one page holding only an image XObject
#   mkpdf.pl many OUT N         N pages of about 2.5 KB of text each
#   mkpdf.pl dense OUT N        one page with N words at scattered places
#                               (slow to put into reading order)
#   mkpdf.pl bomb OUT N         one page whose Flate-compressed content is
#                               a string of N MiB (a small file that makes
#                               poppler take N MiB and more)
# SPDX-License-Identifier: GPL-2.0-or-later
use strict;
use warnings;
use Compress::Zlib ();

my ($kind, $out, $n) = @ARGV;
die "usage: mkpdf.pl paper|paper-flate|zero|image|many|dense|bomb OUT [N]\n"
    unless defined $out;

my @obj;    # object bodies; object k is $obj[k - 1]

sub add { push @obj, $_[0]; return scalar @obj; }

sub pdfstr {    # a PDF literal string
    my $s = shift;
    $s =~ s/([\\()])/\\$1/g;
    return "($s)";
}

sub stream {
    my ($data, $flate) = @_;
    if ($flate) {
        $data = Compress::Zlib::compress($data);
        return "<< /Length " . length($data) . " /Filter /FlateDecode >>\nstream\n$data\nendstream";
    }
    return "<< /Length " . length($data) . " >>\nstream\n$data\nendstream";
}

# One line of text: font resource, size, x, y, string.
sub tl {
    my ($f, $sz, $x, $y, $s) = @_;
    return "BT /$f $sz Tf $x $y Td " . pdfstr($s) . " Tj ET\n";
}

sub write_pdf {
    my ($root, $info) = @_;
    my $pdf = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
    my @off;
    for my $i (0 .. $#obj) {
        push @off, length $pdf;
        $pdf .= ($i + 1) . " 0 obj\n$obj[$i]\nendobj\n";
    }
    my $xref = length $pdf;
    $pdf .= "xref\n0 " . (@obj + 1) . "\n0000000000 65535 f \n";
    $pdf .= sprintf("%010d 00000 n \n", $_) for @off;
    $pdf .= "trailer\n<< /Size " . (@obj + 1) . " /Root $root 0 R";
    $pdf .= " /Info $info 0 R" if $info;
    $pdf .= " >>\nstartxref\n$xref\n%%EOF\n";
    open my $fh, '>:raw', $out or die "mkpdf.pl: $out: $!\n";
    print $fh $pdf;
    close $fh or die "mkpdf.pl: $out: $!\n";
}

# Pages from content streams; fonts F1 Helvetica, F2 Helvetica-Bold,
# F3 Times-Roman; extra resources (an XObject) optional.
sub pages_pdf {
    my ($contents, %o) = @_;
    my $f1 = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    my $f2 = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>");
    my $f3 = add("<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman >>");
    my $res = "/Font << /F1 $f1 0 R /F2 $f2 0 R /F3 $f3 0 R >>";
    $res .= " /XObject << /Im1 $o{image} 0 R >>" if $o{image};
    my $pages = scalar(@obj) + 1 + 2 * @$contents;  # pages tree comes after
    my @kids;
    for my $c (@$contents) {
        my $s = add(stream($c, $o{flate}));
        push @kids, add("<< /Type /Page /Parent $pages 0 R /MediaBox [0 0 612 792] "
                        . "/Resources << $res >> /Contents $s 0 R >>");
    }
    add("<< /Type /Pages /Kids [" . join(' ', map { "$_ 0 R" } @kids)
        . "] /Count " . scalar(@kids) . " >>") == $pages or die;
    my $root = add("<< /Type /Catalog /Pages $pages 0 R >>");
    my $info = add("<< /Title (A Test of Extraction) /Subject (doi:10.5555/mkpdf.0001) "
                   . "/CreationDate (D:20190412093000Z) /Producer (mkpdf.pl) >>");
    write_pdf($root, $info);
}

if ($kind eq 'paper' || $kind eq 'paper-flate') {
    my $hdr = tl('F3', 8, 72, 760, 'Journal of Hand-Made Test Papers, 4(2), 2019');
    my $p1 = $hdr
        . tl('F2', 18, 72, 700, 'Neutron Scattering on Copper under')
        . tl('F2', 18, 72, 678, 'Pressure: a Hand-Made Test Paper')
        . "BT /F1 11 Tf 72 650 Td (Ada Lovelace) Tj /F1 7 Tf 4 Ts (1,2) Tj 0 Ts "
        . "/F1 11 Tf (, Jean-Pierre de la Tour) Tj /F1 7 Tf 4 Ts (2) Tj 0 Ts "
        . "/F1 11 Tf ( and M. Curie) Tj /F1 7 Tf 4 Ts (*) Tj 0 Ts ET\n"
        . tl('F1', 8, 72, 634, '1 Institut Laue-Langevin, 71 avenue des Martyrs, Grenoble, France')
        . tl('F1', 8, 72, 624, '2 Department of Physics, University of Nowhere')
        . tl('F1', 9, 72, 606, 'DOI: https://doi.org/10.5555/mkpdf.')
        . tl('F1', 9, 72, 596, '0001 Published: 12 April 2019')
        . tl('F2', 10, 72, 570, 'Abstract')
        . tl('F3', 10, 72, 556, 'We measured copper on D22 at the ILL (proposal 8-01-418) and on')
        . tl('F3', 10, 72, 544, 'I11 at Diamond (MX6638-1); the data are at 10.5291/ILL-DATA.8-01-418.')
        . tl('F2', 10, 72, 520, 'Keywords: neutron scattering; copper; pressure')
        . tl('F2', 12, 72, 496, '1 Introduction')
        . tl('F3', 10, 72, 482, 'Copper is a metal. Page 3 of 12, 2019-04-12, grant 123456.');
    my $p2 = $hdr
        . tl('F2', 12, 72, 700, 'Acknowledgements')
        . tl('F3', 10, 72, 686, 'We thank the ESRF for beamtime (MA-1234) and ISIS (RB1234567).')
        . tl('F2', 12, 72, 662, 'Funding')
        . tl('F3', 10, 72, 648, 'Funded by the Agence Nationale de la Recherche, ANR-17-CE30-0001.')
        . tl('F2', 12, 72, 624, 'References')
        . tl('F3', 9, 72, 610, '[1] Boeing G. Visual analysis of nonlinear dynamical systems.')
        . tl('F3', 9, 84, 600, 'Information Visualization, https://doi.org/10.1057/palgrave.ivs.')
        . tl('F3', 9, 84, 590, '9500082.')
        . tl('F3', 9, 72, 578, '[2] May R. Simple mathematical models. Science. doi:10.')
        . tl('F3', 9, 84, 568, '1126/science.156.3775.636')
        . tl('F3', 9, 72, 556, '[3] A reference without a DOI, 1999.');
    pages_pdf([$p1, $p2], flate => $kind eq 'paper-flate');
} elsif ($kind eq 'zero') {
    my $pages = add("<< /Type /Pages /Kids [] /Count 0 >>");
    my $root = add("<< /Type /Catalog /Pages $pages 0 R >>");
    write_pdf($root, 0);
} elsif ($kind eq 'image') {
    my $px = join '', map { chr(($_ * 37) % 256) } 0 .. 63;
    my $im = add("<< /Type /XObject /Subtype /Image /Width 8 /Height 8 "
                 . "/ColorSpace /DeviceGray /BitsPerComponent 8 /Length 64 >>\nstream\n$px\nendstream");
    pages_pdf(["q 400 0 0 400 100 200 cm /Im1 Do Q\n"], image => $im);
} elsif ($kind eq 'many') {
    die "mkpdf.pl many OUT N\n" unless $n && $n > 0;
    my @c;
    for my $p (1 .. $n) {
        my $c = tl('F2', 14, 72, 740, "Page $p of a very long document");
        for my $l (0 .. 39) {
            $c .= tl('F3', 10, 72, 720 - 16 * $l,
                     "Line $l of page $p: neutron and x-ray scattering, proposal 8-01-$l.");
        }
        push @c, $c;
    }
    pages_pdf(\@c);
} elsif ($kind eq 'dense') {
    die "mkpdf.pl dense OUT N\n" unless $n && $n > 0;
    my ($c, $s) = ('', 12345);
    for my $w (1 .. $n) {
        $s = ($s * 1103515245 + 12345) % 2147483648;
        my $x = 10 + $s % 580;
        $s = ($s * 1103515245 + 12345) % 2147483648;
        my $y = 10 + $s % 770;
        $c .= tl('F3', 4 + $w % 7, $x, $y, "w$w");
    }
    pages_pdf([$c]);
} elsif ($kind eq 'bomb') {
    die "mkpdf.pl bomb OUT N\n" unless $n && $n > 0;
    my $d = Compress::Zlib::deflateInit(-Level => 1) or die;
    my ($z, $o) = ('');
    ($o) = $d->deflate("BT /F1 10 Tf 72 700 Td (");
    $z .= $o;
    my $mib = 'x' x 1048576;
    for (1 .. $n) {
        ($o) = $d->deflate($mib);
        $z .= $o;
    }
    ($o) = $d->deflate(") Tj ET\n");
    $z .= $o;
    ($o) = $d->flush();
    $z .= $o;
    my $f1 = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    my $s = add("<< /Length " . length($z) . " /Filter /FlateDecode >>\nstream\n$z\nendstream");
    my $pg = add("<< /Type /Page /Parent 4 0 R /MediaBox [0 0 612 792] "
                 . "/Resources << /Font << /F1 $f1 0 R >> >> /Contents $s 0 R >>");
    add("<< /Type /Pages /Kids [$pg 0 R] /Count 1 >>") == 4 or die;
    write_pdf(add("<< /Type /Catalog /Pages 4 0 R >>"), 0);
} else {
    die "mkpdf.pl: unknown kind '$kind'\n";
}
